using System.Net.Sockets;
using System.Text;
using FastSidecar.Protocol;
using FastSidecar.Queues;
using FastSidecar.Session;

namespace FastSidecar;

/// <summary>Sending: binary and text messages into the send queue, blocking, bounded or never blocking.</summary>
public sealed partial class SidecarWebSocket
{
    /// <summary>
    /// Queues a message: copies <paramref name="payload"/> into a pooled buffer and hands it to the loop. Blocks while
    /// the send queue is full, up to <see cref="SidecarOptions.SendTimeout"/>.
    /// </summary>
    /// <exception cref="TimeoutException">The queue stayed full for the whole send timeout; the message was not queued.</exception>
    /// <exception cref="SidecarWebSocketException">The connection has ended, or <see cref="Exit()"/> was called.</exception>
    public void Send(ReadOnlySpan<byte> payload, MessageType type = MessageType.Binary) => Send(payload, type, CancellationToken.None);

    /// <summary>
    /// Queues a message like <see cref="Send(ReadOnlySpan{byte}, MessageType)"/>; a wait for room in a full queue also
    /// ends when <paramref name="cancellationToken"/> is canceled. Cancellation ends the wait only: the message is not
    /// queued and the connection is untouched.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was canceled before the message was queued.</exception>
    /// <exception cref="TimeoutException">The queue stayed full for the whole send timeout; the message was not queued.</exception>
    /// <exception cref="SidecarWebSocketException">The connection has ended, or <see cref="Exit()"/> was called.</exception>
    public void Send(ReadOnlySpan<byte> payload, MessageType type, CancellationToken cancellationToken)
    {
        TimeSpan timeout = _connection.Options.SendTimeout;
        if (!Enqueue(payload, type, timeout, cancellationToken))
        {
            throw new TimeoutException($"The send queue stayed full for {timeout}; the message was not sent.");
        }
    }

    /// <summary>
    /// Queues <paramref name="text"/> as a text message, encoded as UTF-8 straight into a pooled buffer (no copy in
    /// between). Blocks while the send queue is full, up to <see cref="SidecarOptions.SendTimeout"/>. A lone surrogate
    /// is sent as U+FFFD, as <see cref="Encoding.UTF8"/> encodes it, so the message is always valid UTF-8.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    /// <exception cref="TimeoutException">The queue stayed full for the whole send timeout; the message was not queued.</exception>
    /// <exception cref="SidecarWebSocketException">The connection has ended, or <see cref="Exit()"/> was called.</exception>
    public void Send(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Send(text.AsSpan(), CancellationToken.None);
    }

    /// <summary>Queues <paramref name="text"/> as a text message (see <see cref="Send(string)"/>).</summary>
    /// <exception cref="TimeoutException">The queue stayed full for the whole send timeout; the message was not queued.</exception>
    /// <exception cref="SidecarWebSocketException">The connection has ended, or <see cref="Exit()"/> was called.</exception>
    public void Send(ReadOnlySpan<char> text) => Send(text, CancellationToken.None);

    /// <summary>
    /// Queues <paramref name="text"/> as a text message (see <see cref="Send(string)"/>); a wait for room also ends when
    /// <paramref name="cancellationToken"/> is canceled, which ends the wait only.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was canceled before the message was queued.</exception>
    /// <exception cref="TimeoutException">The queue stayed full for the whole send timeout; the message was not queued.</exception>
    /// <exception cref="SidecarWebSocketException">The connection has ended, or <see cref="Exit()"/> was called.</exception>
    public void Send(ReadOnlySpan<char> text, CancellationToken cancellationToken)
    {
        TimeSpan timeout = _connection.Options.SendTimeout;
        if (!EnqueueText(text, timeout, cancellationToken))
        {
            throw new TimeoutException($"The send queue stayed full for {timeout}; the message was not sent.");
        }
    }

    /// <summary>Queues a message if the send queue has room; never blocks.</summary>
    /// <returns>False when the queue is full (the message was not queued).</returns>
    /// <exception cref="SidecarWebSocketException">The connection has ended, or <see cref="Exit()"/> was called.</exception>
    public bool TrySend(ReadOnlySpan<byte> payload, MessageType type = MessageType.Binary) =>
        Enqueue(payload, type, TimeSpan.Zero, CancellationToken.None);

    /// <summary>Queues <paramref name="text"/> as a text message if the send queue has room; never blocks (see <see cref="Send(string)"/>).</summary>
    /// <returns>False when the queue is full (the message was not queued).</returns>
    /// <exception cref="SidecarWebSocketException">The connection has ended, or <see cref="Exit()"/> was called.</exception>
    public bool TrySend(ReadOnlySpan<char> text) => EnqueueText(text, TimeSpan.Zero, CancellationToken.None);

    /// <summary>Queues <paramref name="text"/> as a text message if the send queue has room; never blocks (see <see cref="Send(string)"/>).</summary>
    /// <returns>False when the queue is full (the message was not queued).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    /// <exception cref="SidecarWebSocketException">The connection has ended, or <see cref="Exit()"/> was called.</exception>
    public bool TrySend(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TrySend(text.AsSpan());
    }

    private bool Enqueue(ReadOnlySpan<byte> payload, MessageType type, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (type is not (MessageType.Text or MessageType.Binary))
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown message type.");
        }

        // Full fence: the announcement is visible before the state check below (pairs with RecycleRings).
        _connection.EnterQueueUse();
        try
        {
            ThrowIfCannotSend();
            byte[] buffer = _connection.Pool.Rent(payload.Length);
            payload.CopyTo(buffer);
            return EnqueueRented(buffer, payload.Length, type, timeout, cancellationToken);
        }
        finally
        {
            _connection.ExitQueueUse();
        }
    }

    private bool EnqueueText(ReadOnlySpan<char> text, TimeSpan timeout, CancellationToken cancellationToken)
    {
        _connection.EnterQueueUse(); // full fence: see Enqueue
        try
        {
            ThrowIfCannotSend();
            // The worst case (3 bytes a char) sizes the buffer without a pass over the text when it is small enough
            // to fit a small pooled buffer anyway; a long text is measured first so it does not take 3 × its size.
            int maxBytes = Encoding.UTF8.GetMaxByteCount(text.Length);
            byte[] buffer = _connection.Pool.Rent(maxBytes <= TextWorstCaseLimit ? maxBytes : Encoding.UTF8.GetByteCount(text));
            int length = Encoding.UTF8.GetBytes(text, buffer);
            return EnqueueRented(buffer, length, MessageType.Text, timeout, cancellationToken);
        }
        finally
        {
            _connection.ExitQueueUse();
        }
    }

    // Texts whose worst-case UTF-8 size is at most this are encoded without measuring them first.
    private const int TextWorstCaseLimit = 4096;

    /// <summary>Hands a filled pooled buffer to the send queue; gives it back to the pool if it is not queued.</summary>
    private bool EnqueueRented(byte[] buffer, int length, MessageType type, TimeSpan timeout, CancellationToken cancellationToken)
    {
        BoundedMpscQueue<OutboundMessage> queue = _connection.SendQueue;
        var message = new OutboundMessage(buffer, length, type);
        QueueWaitResult result = timeout == TimeSpan.Zero
            ? (queue.TryEnqueue(message) ? QueueWaitResult.Success : queue.IsCompleted ? QueueWaitResult.Completed : QueueWaitResult.TimedOut)
            : queue.Enqueue(message, timeout, cancellationToken);
        if (result == QueueWaitResult.Success)
        {
            // Queued: from here the message is sent or counted as not sent (a stopped loop leaves it to Exit's count).
            _connection.Session.ScheduleDrain();
            return true;
        }

        _connection.Pool.Return(buffer);
        if (result == QueueWaitResult.Completed)
        {
            ThrowIfCannotSend();
            throw new WebSocketClosedException("The connection is closed; the message was not sent.");
        }

        if (result == QueueWaitResult.Canceled)
        {
            throw new OperationCanceledException("The send was canceled; the message was not sent and the connection is untouched.", cancellationToken);
        }

        return false;
    }

    private void ThrowIfCannotSend()
    {
        ThrowIfExited();
        if (_connection.HasEnded)
        {
            ThrowEnded();
        }
    }
}
