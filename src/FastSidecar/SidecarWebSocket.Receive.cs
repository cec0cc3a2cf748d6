using System.Net.Sockets;
using FastSidecar.Protocol;
using FastSidecar.Queues;

namespace FastSidecar;

/// <summary>Receiving: leased messages, copies into the caller's buffer, throwing and non-throwing forms.</summary>
public sealed partial class SidecarWebSocket
{
    /// <summary>
    /// Takes the next received message, waiting up to <paramref name="timeout"/>. A timeout ends only the wait: the
    /// connection and any partly received message are untouched.
    /// </summary>
    /// <exception cref="TimeoutException">No message arrived in time.</exception>
    /// <exception cref="SidecarWebSocketException">The connection ended and every message that arrived before has been taken.</exception>
    public ReceivedMessage Receive(TimeSpan timeout) => Receive(timeout, CancellationToken.None);

    /// <summary>
    /// Takes the next received message, waiting up to <paramref name="timeout"/> or until
    /// <paramref name="cancellationToken"/> is canceled. Either ends only the wait: the connection and any partly
    /// received message are untouched (unlike <c>ClientWebSocket</c>, which aborts on a canceled receive).
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was canceled before a message arrived.</exception>
    /// <exception cref="TimeoutException">No message arrived in time.</exception>
    /// <exception cref="SidecarWebSocketException">The connection ended and every message that arrived before has been taken.</exception>
    public ReceivedMessage Receive(TimeSpan timeout, CancellationToken cancellationToken)
    {
        // Full fence: the announcement is visible before ThrowIfExited reads the exit flag (pairs with RecycleRings).
        _connection.EnterQueueUse();
        try
        {
            return ReceiveAnnounced(timeout, cancellationToken);
        }
        finally
        {
            _connection.ExitQueueUse();
        }
    }

    /// <summary>Takes the next received message, waiting as long as it takes (or until the connection ends).</summary>
    public ReceivedMessage Receive() => Receive(Timeout.InfiniteTimeSpan);

    /// <summary>Takes the next received message, waiting until one arrives, the connection ends, or <paramref name="cancellationToken"/> is canceled (which ends the wait only).</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was canceled before a message arrived.</exception>
    /// <exception cref="SidecarWebSocketException">The connection ended and every message that arrived before has been taken.</exception>
    public ReceivedMessage Receive(CancellationToken cancellationToken) => Receive(Timeout.InfiniteTimeSpan, cancellationToken);

    /// <summary>
    /// Takes the next received message, waiting up to <paramref name="timeout"/>, without throwing when none comes:
    /// false on a timeout or when the connection has ended (every message that arrived before it has been taken).
    /// <see cref="State"/> says which: <see cref="SidecarWebSocketState.Open"/> after a timeout,
    /// <see cref="SidecarWebSocketState.Closed"/> or <see cref="SidecarWebSocketState.Exited"/> after the end, with
    /// <see cref="CloseStatus"/> and <see cref="CloseStatusDescription"/> saying how it closed. A normal close is a value
    /// here, not an exception; a failure still surfaces from the next <c>Send</c> or <c>Receive</c>.
    /// </summary>
    /// <returns>True with a message to dispose; false with <paramref name="message"/> default.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative and not infinite.</exception>
    public bool TryReceive(TimeSpan timeout, out ReceivedMessage message)
    {
        _connection.EnterQueueUse(); // full fence: see Receive
        try
        {
            if (_exited)
            {
                message = default;
                return false;
            }

            if (_connection.Carried.TryTake(out message))
            {
                return true;
            }

            QueueWaitResult result = DequeueSkippingViolations(out message, timeout, CancellationToken.None);
            if (result == QueueWaitResult.Success)
            {
                OnDequeued();
                return true;
            }

            message = default;
            return false;
        }
        finally
        {
            _connection.ExitQueueUse();
        }
    }

    /// <summary>
    /// Takes the next received message into <paramref name="destination"/>, waiting up to <paramref name="timeout"/>:
    /// no lease to dispose. A message longer than <paramref name="destination"/> is not lost: the call throws and the
    /// message stays first in line for the next receive.
    /// </summary>
    /// <returns>The message's length and type; its bytes are the first <see cref="ReceiveResult.Length"/> of <paramref name="destination"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than the message (its length is in the exception's message).</exception>
    /// <exception cref="TimeoutException">No message arrived in time.</exception>
    /// <exception cref="SidecarWebSocketException">The connection ended and every message that arrived before has been taken.</exception>
    public ReceiveResult Receive(Span<byte> destination, TimeSpan timeout) => CopyOut(Receive(timeout), destination);

    /// <summary>Takes a received message into <paramref name="destination"/> if one is waiting; never blocks (see <see cref="Receive(Span{byte}, TimeSpan)"/>).</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than the message.</exception>
    /// <exception cref="SidecarWebSocketException">The connection ended and every message that arrived before has been taken.</exception>
    public bool TryReceive(Span<byte> destination, out ReceiveResult result)
    {
        if (!TryReceive(out ReceivedMessage message))
        {
            result = default;
            return false;
        }

        result = CopyOut(message, destination);
        return true;
    }

    /// <summary>Takes a received message if one is waiting; never blocks.</summary>
    /// <exception cref="SidecarWebSocketException">The connection ended and every message that arrived before has been taken.</exception>
    public bool TryReceive(out ReceivedMessage message)
    {
        // Full fence: see Receive.
        _connection.EnterQueueUse();
        try
        {
            return TryReceiveAnnounced(out message);
        }
        finally
        {
            _connection.ExitQueueUse();
        }
    }

    private ReceivedMessage ReceiveAnnounced(TimeSpan timeout, CancellationToken cancellationToken)
    {
        ThrowIfExited();
        if (_connection.Carried.TryTake(out ReceivedMessage message))
        {
            return message;
        }

        QueueWaitResult result = DequeueSkippingViolations(out message, timeout, cancellationToken);
        switch (result)
        {
            case QueueWaitResult.Success:
                OnDequeued();
                return message;
            case QueueWaitResult.TimedOut:
                throw new TimeoutException($"No message arrived within {timeout}.");
            case QueueWaitResult.Canceled:
                throw new OperationCanceledException("The receive was canceled; the connection is untouched.", cancellationToken);
            default:
                ThrowIfExited();
                ThrowEnded();
                return default;
        }
    }

    private QueueWaitResult DequeueSkippingViolations(out ReceivedMessage message, TimeSpan timeout, CancellationToken cancellationToken)
    {
        BoundedSpmcQueue<ReceivedMessage> queue = _connection.ReceiveQueue;
        QueueWaitResult result;
        while ((result = queue.Dequeue(out message, timeout, cancellationToken)) == QueueWaitResult.Success && message.IsViolationMarker)
        {
            // Every message before the peer's violation has been taken: the loop fails the connection now, and this
            // wait ends when it has (the wait starts over once, bounded by the close timeout on the loop).
            _connection.Session.RequestDeferredViolation();
        }

        return result;
    }

    private bool TryReceiveAnnounced(out ReceivedMessage message)
    {
        ThrowIfExited();
        if (_connection.Carried.TryTake(out message))
        {
            return true;
        }

        BoundedSpmcQueue<ReceivedMessage> queue = _connection.ReceiveQueue;
        while (queue.TryDequeue(out message))
        {
            if (!message.IsViolationMarker)
            {
                OnDequeued();
                return true;
            }

            _connection.Session.RequestDeferredViolation(); // see Receive
        }

        if (queue.IsCompleted)
        {
            // The queue completes after the last delivery, so an empty completed queue stays empty.
            if (queue.TryDequeue(out message) && !message.IsViolationMarker)
            {
                OnDequeued();
                return true;
            }

            ThrowIfExited();
            ThrowEnded();
        }

        return false;
    }

    private ReceiveResult CopyOut(ReceivedMessage message, Span<byte> destination)
    {
        if (message.Length > destination.Length)
        {
            _connection.Carried.Add(message);
            throw new ArgumentException(
                $"The next message is {message.Length} bytes and the destination holds {destination.Length}; it stays first in line for the next receive.",
                nameof(destination));
        }

        return new ReceiveResult(message.CopyToAndDispose(destination), message.Type, message.Reconnect);
    }

    private void OnDequeued()
    {
        if (_connection.Session.IsReceivePaused)
        {
            _connection.Session.RequestResume();
        }
    }
}
