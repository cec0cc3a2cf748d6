using FastSidecar.Testing;

namespace FastSidecar.Benchmarks.Contenders;

/// <summary>
/// The one in-process echo server every contender talks to. Its loop parks when idle (<see cref="WaitStrategy.Blocking"/>),
/// so between round trips it does not take one of the machine's two cores from the contender being measured.
/// </summary>
internal static class SharedEchoServer
{
    private static readonly Lazy<LoopbackEchoServer> s_server = new(() => new LoopbackEchoServer(WaitStrategy.Blocking));

    public static LoopbackEchoServer Instance => s_server.Value;
}
