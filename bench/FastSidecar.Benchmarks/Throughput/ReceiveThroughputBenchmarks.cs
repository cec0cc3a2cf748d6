using System.Globalization;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Text;
using BenchmarkDotNet.Attributes;
using FastSidecar.Benchmarks.Contenders;

namespace FastSidecar.Benchmarks.Throughput;

/// <summary>
/// Receive rate with the server flooding: one operation is one message of <see cref="Size"/> bytes handed to the
/// application thread (taken out of <c>Receive</c>, or returned by <c>ReceiveAsync</c> with end-of-message).
/// </summary>
/// <remarks>
/// Each invocation asks the server (<c>/flood</c> mode) for <see cref="Batch"/> more messages with one small text
/// message and takes all of them, so the ask costs one round trip per batch (under 0.1 % at 64 B). Between invocations
/// the connection is idle and every queue is empty: nothing is pre-buffered. The sidecar's loop runs
/// <see cref="WaitStrategy.SpinThenPark"/>; three threads (application, client loop, server loop) share two cores,
/// against two for <c>ClientWebSocket</c> (its continuations and the server loop).
/// </remarks>
[MemoryDiagnoser]
public class ReceiveThroughputBenchmarks
{
    public const int Batch = 32_768;
    private static readonly byte[] s_request = Encoding.ASCII.GetBytes(Batch.ToString(CultureInfo.InvariantCulture));
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);

    private SidecarWebSocket? _sidecar;
    private ClientWebSocket? _client;
    private readonly byte[] _buffer = new byte[64 * 1024];

    [Params(64, 1024)]
    public int Size { get; set; }

    [GlobalSetup(Targets = [nameof(Sidecar_Receive), nameof(Sidecar_ReceiveBatch)])]
    public void SetupSidecar() =>
        _sidecar = SidecarWebSocket.Connect(SharedEchoServer.Instance.FloodUri(Size, 0), new SidecarOptions { WaitStrategy = WaitStrategy.SpinThenPark });

    [GlobalSetup(Target = nameof(ClientWebSocket_ReceiveAsync))]
    public void SetupClient()
    {
        _client = new ClientWebSocket();
        _client.Options.KeepAliveInterval = TimeSpan.Zero;
        _client.ConnectAsync(SharedEchoServer.Instance.FloodUri(Size, 0), CancellationToken.None).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _sidecar?.Exit();
        _sidecar = null;
        if (_client is not null)
        {
            _client.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).GetAwaiter().GetResult();
            _client.Dispose();
            _client = null;
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    public async Task<long> ClientWebSocket_ReceiveAsync()
    {
        ClientWebSocket client = _client!;
        await client.SendAsync(s_request, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        long bytes = 0;
        for (int messages = 0; messages < Batch;)
        {
            ValueWebSocketReceiveResult result = await client.ReceiveAsync(_buffer.AsMemory(), CancellationToken.None);
            bytes += result.Count;
            if (result.EndOfMessage)
            {
                messages++;
            }
        }

        return bytes;
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public long Sidecar_Receive()
    {
        SidecarWebSocket sidecar = _sidecar!;
        sidecar.Send(s_request, MessageType.Text);
        long bytes = 0;
        for (int messages = 0; messages < Batch; messages++)
        {
            using ReceivedMessage message = sidecar.Receive(s_timeout);
            bytes += message.Length;
        }

        return bytes;
    }

    private static readonly ReceivedMessageHandler<StrongBox<long>> s_count = static (bytes, payload, _) => bytes.Value += payload.Length;
    private readonly StrongBox<long> _bytes = new();

    [Benchmark(OperationsPerInvoke = Batch)]
    public long Sidecar_ReceiveBatch()
    {
        SidecarWebSocket sidecar = _sidecar!;
        sidecar.Send(s_request, MessageType.Text);
        _bytes.Value = 0;
        for (int messages = 0; messages < Batch;)
        {
            messages += sidecar.ReceiveBatch(_bytes, s_count, Batch - messages, s_timeout);
        }

        return _bytes.Value;
    }
}
