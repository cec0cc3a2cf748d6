using System.Net.WebSockets;

namespace FastSidecar.Cli;

/// <summary>
/// The BCL baseline of the demo: <see cref="ClientWebSocket"/> driven synchronously from the measuring thread (send,
/// then receive the echo, each awaited with <c>GetAwaiter().GetResult()</c>), which is what a synchronous .NET program
/// would write. The <see cref="Memory{T}"/> overloads return value tasks, so the loop itself allocates little.
/// </summary>
/// <remarks>Single-threaded, like the other contenders.</remarks>
internal sealed class ClientWebSocketContender : IDisposable
{
    // A close that the echo server answers at once; bounded all the same, since CloseAsync on a silent peer never returns.
    private static readonly TimeSpan s_closeTimeout = TimeSpan.FromSeconds(1);

    private readonly ClientWebSocket _socket;
    private readonly ReadOnlyMemory<byte> _payload;
    private readonly byte[] _received;

    private ClientWebSocketContender(ClientWebSocket socket, ReadOnlyMemory<byte> payload)
    {
        _socket = socket;
        _payload = payload;
        _received = new byte[Math.Max(payload.Length, 1)];
    }

    public static ClientWebSocketContender Connect(Uri uri, ReadOnlyMemory<byte> payload)
    {
        var socket = new ClientWebSocket();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            socket.ConnectAsync(uri, timeout.Token).GetAwaiter().GetResult();
            return new ClientWebSocketContender(socket, payload);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends the payload as one binary message and takes its whole echo.</summary>
    public void RoundTrip()
    {
        Wait(_socket.SendAsync(_payload, WebSocketMessageType.Binary, endOfMessage: true, CancellationToken.None));
        int total = 0;
        while (true)
        {
            ValueWebSocketReceiveResult result = Wait(_socket.ReceiveAsync(_received.AsMemory(Math.Min(total, _received.Length - 1)), CancellationToken.None));
            total += result.Count;
            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new IOException("The server closed the ClientWebSocket connection during the demo.");
            }

            if (result.EndOfMessage)
            {
                break;
            }
        }

        if (total != _payload.Length)
        {
            throw new IOException($"The ClientWebSocket echo has {total} bytes, not {_payload.Length}.");
        }
    }

    // A value task may be consumed once and only when complete: block on it through a Task only when it is pending.
    private static void Wait(ValueTask pending)
    {
        if (pending.IsCompleted)
        {
            pending.GetAwaiter().GetResult();
        }
        else
        {
            pending.AsTask().GetAwaiter().GetResult();
        }
    }

    private static T Wait<T>(ValueTask<T> pending) =>
        pending.IsCompleted ? pending.GetAwaiter().GetResult() : pending.AsTask().GetAwaiter().GetResult();

    public void Dispose()
    {
        try
        {
            using var timeout = new CancellationTokenSource(s_closeTimeout);
            _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            // The numbers are taken; a close that did not finish in time only ends abortively.
        }
        finally
        {
            _socket.Dispose();
        }
    }
}
