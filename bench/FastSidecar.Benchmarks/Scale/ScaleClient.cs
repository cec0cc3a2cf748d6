using System.Net.WebSockets;

namespace FastSidecar.Benchmarks.Scale;

/// <summary>One connection of the scale run, driven synchronously: send 64 B, take one echo.</summary>
internal abstract class ScaleClient : IDisposable
{
    protected static readonly TimeSpan ReceiveTimeout = TimeSpan.FromSeconds(30);

    public abstract void Send(ReadOnlySpan<byte> payload);

    /// <summary>Takes one echo (blocking up to 30 s); returns its length.</summary>
    public abstract int ReceiveOne();

    public abstract void Dispose();
}

/// <summary>The product, on a shared loop or a loop of its own.</summary>
internal sealed class SidecarScaleClient(SidecarWebSocket socket) : ScaleClient
{
    public override void Send(ReadOnlySpan<byte> payload) => socket.Send(payload, MessageType.Binary);

    public override int ReceiveOne()
    {
        using ReceivedMessage echo = socket.Receive(ReceiveTimeout);
        return echo.Length;
    }

    public override void Dispose() => socket.Exit();
}

/// <summary>The BCL baseline, driven the way careful sync-over-async code drives it.</summary>
internal sealed class ClientWebSocketScaleClient : ScaleClient
{
    private readonly ClientWebSocket _socket = new();
    private readonly byte[] _buffer = new byte[1024];
    private readonly byte[] _sendBuffer = new byte[1024];

    public ClientWebSocketScaleClient(Uri uri)
    {
        _socket.Options.KeepAliveInterval = TimeSpan.Zero;
        _socket.ConnectAsync(uri, CancellationToken.None).GetAwaiter().GetResult();
    }

    public override void Send(ReadOnlySpan<byte> payload)
    {
        payload.CopyTo(_sendBuffer);
        ValueTask send = _socket.SendAsync(_sendBuffer.AsMemory(0, payload.Length), WebSocketMessageType.Binary, true, CancellationToken.None);
        if (send.IsCompletedSuccessfully)
        {
            send.GetAwaiter().GetResult();
        }
        else
        {
            send.AsTask().GetAwaiter().GetResult();
        }
    }

    public override int ReceiveOne()
    {
        int received = 0;
        while (true)
        {
            ValueTask<ValueWebSocketReceiveResult> receive = _socket.ReceiveAsync(_buffer.AsMemory(received), CancellationToken.None);
            ValueWebSocketReceiveResult result = receive.IsCompletedSuccessfully ? receive.Result : receive.AsTask().GetAwaiter().GetResult();
            received += result.Count;
            if (result.EndOfMessage)
            {
                return received;
            }
        }
    }

    public override void Dispose()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            // A close that does not finish in time is only the baseline's teardown; the socket is aborted below.
        }

        _socket.Dispose();
    }
}
