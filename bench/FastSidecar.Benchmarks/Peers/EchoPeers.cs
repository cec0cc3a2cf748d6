using FastSidecar.Benchmarks.Contenders;

namespace FastSidecar.Benchmarks.Peers;

/// <summary>
/// The three echo peers every round-trip figure is measured against: the project's own loop server (in process), a
/// plain blocking thread-per-connection server (in process, not driven by the library) and Node's <c>ws</c> (another
/// process). A figure that holds only against our own server does not count.
/// </summary>
public sealed class EchoPeers : IDisposable
{
    private readonly BlockingEchoServer _blocking = new();
    private readonly NodeEchoPeer _node = NodeEchoPeer.Start();

    public EchoPeers() => All =
    [
        ("own loop server", SharedEchoServer.Instance.Uri),
        ("blocking server", _blocking.Uri),
        ("node ws", _node.Uri),
    ];

    /// <summary>Name and address of each peer, in table order.</summary>
    public IReadOnlyList<(string Name, Uri Uri)> All { get; }

    /// <summary>The address of <paramref name="kind"/>.</summary>
    public Uri UriOf(PeerKind kind) => All[(int)kind].Uri;

    public void Dispose()
    {
        _node.Dispose();
        _blocking.Dispose();
    }
}
