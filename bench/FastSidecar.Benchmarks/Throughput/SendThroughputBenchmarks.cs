using System.Buffers.Text;
using System.Net.WebSockets;
using BenchmarkDotNet.Attributes;
using FastSidecar.Benchmarks.Contenders;

namespace FastSidecar.Benchmarks.Throughput;

/// <summary>
/// Send rate of 64-byte binary messages, counted end to end: one invocation sends <see cref="Batch"/> messages, then a
/// text message, and waits for the server's answer to it (<c>/sink</c> mode answers a text message with the number
/// of binary messages it has received). The connection keeps its order, so when the answer arrives every message of
/// the batch has crossed the socket, been parsed and been counted by the server; the invocation also checks the count.
/// One round trip per batch is included (about 0.1 % of a batch at the rates measured).
/// </summary>
/// <remarks>
/// <c>Send</c> returns as soon as the message is queued; the loop coalesces whatever is queued into one write. The
/// <c>ClientWebSocket</c> loop awaits each <c>SendAsync</c> in turn, which is how it must be used (one send at a time).
/// </remarks>
[MemoryDiagnoser]
public class SendThroughputBenchmarks
{
    public const int Batch = 32_768;
    private static readonly byte[] s_sync = "?"u8.ToArray();
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);

    private readonly byte[] _payload = new byte[64];
    private readonly byte[] _buffer = new byte[256];
    private SidecarWebSocket? _sidecar;
    private ClientWebSocket? _client;
    private long _sent;

    [GlobalSetup(Target = nameof(Sidecar_Send))]
    public void SetupSidecar()
    {
        Random.Shared.NextBytes(_payload);
        _sent = 0;
        _sidecar = SidecarWebSocket.Connect(SharedEchoServer.Instance.SinkUri, new SidecarOptions { WaitStrategy = WaitStrategy.SpinThenPark });
    }

    [GlobalSetup(Target = nameof(ClientWebSocket_SendAsync))]
    public void SetupClient()
    {
        Random.Shared.NextBytes(_payload);
        _sent = 0;
        _client = new ClientWebSocket();
        _client.Options.KeepAliveInterval = TimeSpan.Zero;
        _client.ConnectAsync(SharedEchoServer.Instance.SinkUri, CancellationToken.None).GetAwaiter().GetResult();
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
    public async Task ClientWebSocket_SendAsync()
    {
        ClientWebSocket client = _client!;
        for (int i = 0; i < Batch; i++)
        {
            await client.SendAsync(_payload.AsMemory(), WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);
        }

        await client.SendAsync(s_sync.AsMemory(), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        ValueWebSocketReceiveResult result = await client.ReceiveAsync(_buffer.AsMemory(), CancellationToken.None);
        CheckCount(_buffer.AsSpan(0, result.Count));
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public void Sidecar_Send()
    {
        SidecarWebSocket sidecar = _sidecar!;
        for (int i = 0; i < Batch; i++)
        {
            sidecar.Send(_payload, MessageType.Binary);
        }

        sidecar.Send(s_sync, MessageType.Text);
        using ReceivedMessage answer = sidecar.Receive(s_timeout);
        CheckCount(answer.Span);
    }

    private void CheckCount(ReadOnlySpan<byte> answer)
    {
        _sent += Batch;
        if (!Utf8Parser.TryParse(answer, out long counted, out _) || counted != _sent)
        {
            throw new InvalidOperationException($"The server counted {answer.Length} bytes of answer / {_sent} expected.");
        }
    }
}
