using System.Net.WebSockets;
using BenchmarkDotNet.Attributes;
using FastSidecar.Benchmarks.Peers;

namespace FastSidecar.Benchmarks.Lifecycle;

/// <summary>
/// One connect → close cycle against each of the three peers (the project's own loop server, a plain blocking
/// thread-per-connection server, Node's <c>ws</c> in another process), all responsive:
/// <see cref="SidecarWebSocket.Connect(Uri, SidecarOptions?)"/> then <see cref="SidecarWebSocket.Exit()"/> with a loop
/// of its own (all four shutdown steps: the loop thread is started and joined every cycle) and on one shared
/// <see cref="SidecarLoop"/>, against <c>ClientWebSocket</c> <c>ConnectAsync</c> then <c>CloseAsync</c>, both blocked on.
/// The interleaved runner (<c>lifecycle</c>, <see cref="LifecycleRunner"/>) gives the percentiles and rates of record.
/// </summary>
[MemoryDiagnoser]
public class LifecycleBenchmarks
{
    // Started once per benchmark process; the Node peer exits with this process (its standard input closes).
    private static readonly Lazy<EchoPeers> s_peers = new(() => new EchoPeers());

    private Uri _uri = null!;
    private SidecarLoop _sharedLoop = null!;
    private SidecarOptions _shared = null!;

    [ParamsAllValues]
    public PeerKind Peer { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _uri = s_peers.Value.UriOf(Peer);
        _sharedLoop = new SidecarLoop(new SidecarLoopOptions { Name = "FastSidecar shared" });
        _shared = new SidecarOptions { Loop = _sharedLoop };
    }

    [GlobalCleanup]
    public void Cleanup() => _sharedLoop.Dispose();

    [Benchmark(Baseline = true)]
    public void ClientWebSocket_ConnectClose()
    {
        using var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        socket.ConnectAsync(_uri, CancellationToken.None).GetAwaiter().GetResult();
        socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).GetAwaiter().GetResult();
    }

    [Benchmark]
    public ShutdownReport Sidecar_ConnectExit_Blocking() =>
        SidecarWebSocket.Connect(_uri, new SidecarOptions { WaitStrategy = WaitStrategy.Blocking }).Exit();

    [Benchmark]
    public ShutdownReport Sidecar_ConnectExit_SpinThenPark() =>
        SidecarWebSocket.Connect(_uri, new SidecarOptions { WaitStrategy = WaitStrategy.SpinThenPark }).Exit();

    [Benchmark]
    public ShutdownReport Sidecar_ConnectExit_SharedLoop() => SidecarWebSocket.Connect(_uri, _shared).Exit();
}
