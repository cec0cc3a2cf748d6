using System.Diagnostics;
using System.Net.WebSockets;

namespace FastSidecar.Benchmarks.Contenders;

/// <summary>
/// The BCL baseline: <see cref="ClientWebSocket"/>. Synchronous mode blocks on each call (completing inline when the
/// value task already finished, which is how careful sync-over-async code does it); asynchronous mode runs each block
/// of round trips as one <c>async</c> loop on the thread pool, so continuations hop as they would in async code.
/// </summary>
public sealed class ClientWebSocketContender : Contender
{
    private readonly ClientWebSocket _socket = new();
    private readonly bool _async;
    private readonly byte[] _receiveBuffer = new byte[64 * 1024];

    public ClientWebSocketContender(Uri uri, bool async)
    {
        _async = async;
        _socket.Options.KeepAliveInterval = TimeSpan.Zero;
        _socket.ConnectAsync(uri, CancellationToken.None).GetAwaiter().GetResult();
    }

    public ClientWebSocket Socket => _socket;

    public override ContenderKind Kind => _async ? ContenderKind.ClientWebSocketAsync : ContenderKind.ClientWebSocketSync;

    public override void RoundTrip()
    {
        ValueTask send = _socket.SendAsync(Payload, WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);
        if (send.IsCompletedSuccessfully)
        {
            send.GetAwaiter().GetResult();
        }
        else
        {
            send.AsTask().GetAwaiter().GetResult();
        }

        int received = 0;
        while (true)
        {
            ValueTask<ValueWebSocketReceiveResult> receive = _socket.ReceiveAsync(_receiveBuffer.AsMemory(received), CancellationToken.None);
            ValueWebSocketReceiveResult result = receive.IsCompletedSuccessfully ? receive.Result : receive.AsTask().GetAwaiter().GetResult();
            received += result.Count;
            if (result.EndOfMessage)
            {
                break;
            }
        }

        if (received != Payload.Length)
        {
            ThrowBadEcho(Payload.Length, received);
        }
    }

    /// <summary>One round trip as async code writes it.</summary>
    public async Task RoundTripAsync()
    {
        await _socket.SendAsync(Payload, WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None);
        int received = 0;
        while (true)
        {
            ValueWebSocketReceiveResult result = await _socket.ReceiveAsync(_receiveBuffer.AsMemory(received), CancellationToken.None);
            received += result.Count;
            if (result.EndOfMessage)
            {
                break;
            }
        }

        if (received != Payload.Length)
        {
            ThrowBadEcho(Payload.Length, received);
        }
    }

    public override void MeasureBlock(int count, Record record)
    {
        if (!_async)
        {
            base.MeasureBlock(count, record);
            return;
        }

        Task.Run(async () =>
        {
            for (int i = 0; i < count; i++)
            {
                long start = Stopwatch.GetTimestamp();
                await RoundTripAsync();
                record(Stopwatch.GetTimestamp() - start);
            }
        }).GetAwaiter().GetResult();
    }

    /// <summary>The close handshake, as an application does it: <c>CloseAsync</c>, blocked on.</summary>
    public void Close(CancellationToken cancellation = default) =>
        _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, cancellation).GetAwaiter().GetResult();

    protected override void Dispose(bool disposing)
    {
        if (_socket.State == WebSocketState.Open)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                Close(timeout.Token);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
            }
        }

        _socket.Dispose();
    }
}
