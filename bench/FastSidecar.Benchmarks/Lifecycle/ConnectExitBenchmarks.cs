using BenchmarkDotNet.Attributes;
using FastSidecar.Buffers;
using FastSidecar.Testing;

namespace FastSidecar.Benchmarks.Lifecycle;

/// <summary>
/// One connection's whole life against an in-process echo server: connect (TCP + opening handshake), one echo,
/// <see cref="SidecarWebSocket.Exit()"/> with its four steps (close handshake, loop stop, thread join). The allocated
/// bytes and the exception count per operation are the per-cycle costs that reinitialising jobs pay.
/// </summary>
[MemoryDiagnoser]
[ExceptionDiagnoser]
public class ConnectExitBenchmarks
{
    private LoopbackEchoServer _server = null!;
    private SidecarOptions _options = null!;

    [GlobalSetup]
    public void Setup()
    {
        _server = new LoopbackEchoServer(WaitStrategy.Blocking, new SidecarBufferPool());
        _options = new SidecarOptions { WaitStrategy = WaitStrategy.Blocking };
    }

    [GlobalCleanup]
    public void Cleanup() => _server.Dispose();

    [Benchmark]
    public void ConnectEchoExit()
    {
        using SidecarWebSocket ws = SidecarWebSocket.Connect(_server.Uri, _options);
        ws.Send("ping"u8, MessageType.Text);
        ws.Receive(TimeSpan.FromSeconds(5)).Dispose();
        ws.Exit();
    }

    [Benchmark]
    public void ConnectExit()
    {
        using SidecarWebSocket ws = SidecarWebSocket.Connect(_server.Uri, _options);
        ws.Exit();
    }
}
