using System.Net.WebSockets;
using BenchmarkDotNet.Attributes;
using FastSidecar.Benchmarks.Contenders;

namespace FastSidecar.Benchmarks.Lifecycle;

/// <summary>
/// One connect → close cycle against the shared echo server (a responsive peer): <see cref="SidecarWebSocket.Connect(Uri, SidecarOptions?)"/>
/// then <see cref="SidecarWebSocket.Exit()"/> (all four shutdown steps: the loop thread is started and joined every cycle)
/// against <c>ClientWebSocket</c> <c>ConnectAsync</c> then <c>CloseAsync</c>, both blocked on.
/// </summary>
[MemoryDiagnoser]
public class LifecycleBenchmarks
{
    private Uri _uri = null!;

    [GlobalSetup]
    public void Setup() => _uri = SharedEchoServer.Instance.Uri;

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
}
