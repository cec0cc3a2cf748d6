namespace FastSidecar.Benchmarks.Peers;

/// <summary>The echo peers of the round-trip suites (see <see cref="EchoPeers"/>).</summary>
public enum PeerKind
{
    /// <summary>The project's own loop server, in process.</summary>
    OwnLoopServer,

    /// <summary>A plain blocking thread-per-connection server, in process.</summary>
    BlockingServer,

    /// <summary>Node's <c>ws</c>, another process.</summary>
    NodeWs,
}
