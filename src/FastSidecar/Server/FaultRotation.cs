namespace FastSidecar.Server;

/// <summary>
/// The fault mix of the reinitialisation stress: cycle <c>n</c> connects to one of seven targets in turn, so a run of
/// cycles exercises every way a connection can end (clean echo, reset, silent peer, half a frame, refused port,
/// unanswered handshake, peer-initiated close) in equal measure. Shared by the leak tests and the stress runner so
/// both measure the same thing.
/// </summary>
internal sealed class FaultRotation(LoopbackEchoServer server, Uri refusedUri)
{
    /// <summary>The connect timeout of the cycle whose handshake is never answered: short, so the rotation keeps moving.</summary>
    public static readonly TimeSpan StalledConnectTimeout = TimeSpan.FromMilliseconds(50);

    /// <summary>The cycle kinds, in rotation order.</summary>
    public static IReadOnlyList<string> Kinds { get; } = ["echo", "reset", "silent", "midframe", "refused", "stalled", "peer-close"];

    /// <summary>The target of cycle <paramref name="cycle"/>, its kind, and the connect timeout it needs.</summary>
    public (Uri Uri, string Kind, TimeSpan ConnectTimeout) Cycle(int cycle)
    {
        int index = cycle % Kinds.Count;
        Uri uri = index switch
        {
            0 => server.Uri,
            1 => server.UriFor(EchoServerFault.Reset),
            2 => server.UriFor(EchoServerFault.Silent),
            3 => server.UriFor(EchoServerFault.MidFrame),
            4 => refusedUri,
            5 => server.StallingUri,
            _ => server.UriFor(EchoServerFault.CloseAfterEcho),
        };
        return (uri, Kinds[index], index == 5 ? StalledConnectTimeout : TimeSpan.FromSeconds(5));
    }
}
