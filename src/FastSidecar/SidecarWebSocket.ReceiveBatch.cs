using FastSidecar.Buffers;
using FastSidecar.Queues;

namespace FastSidecar;

/// <summary>Receiving in batches: a callback over each message's payload, no lease per message.</summary>
public sealed partial class SidecarWebSocket
{
    /// <summary>
    /// Waits up to <paramref name="timeout"/> for a message, then hands it and every further message already received,
    /// up to <paramref name="maxMessages"/> in all, to <paramref name="handler"/>, in order, on this thread. Each payload
    /// is valid only during its call and is released right after it: there is no lease to dispose, and the buffers of a
    /// read burst go back to the pool together. For feed consumers; <see cref="Receive(TimeSpan)"/> stays the way to keep
    /// a message beyond one call.
    /// </summary>
    /// <typeparam name="TState">The handler's state, passed through so that a <c>static</c> lambda allocates nothing.</typeparam>
    /// <param name="state">Passed to every call of <paramref name="handler"/>.</param>
    /// <param name="handler">Called once per message, in the order the messages arrived.</param>
    /// <param name="maxMessages">The most messages handled by this call (at least 1).</param>
    /// <param name="timeout">How long to wait for the first message; a timeout ends only the wait (the connection and any
    /// partly received message are untouched). <see cref="TimeSpan.Zero"/> does not wait; <see cref="Timeout.InfiniteTimeSpan"/> waits for ever.</param>
    /// <returns>The number of messages handled: 0 when none arrived within <paramref name="timeout"/>.</returns>
    /// <remarks>
    /// Only messages already received are handed over after the first: the call never waits again once it has one.
    /// If <paramref name="handler"/> throws, the message it was given counts as taken (its buffer is released), the
    /// exception propagates, and the rest stay queued for the next receive. Several threads may take batches at once;
    /// each gets its own messages, and the order among threads is not defined.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="handler"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxMessages"/> is not positive, or <paramref name="timeout"/> is negative and not infinite.</exception>
    /// <exception cref="SidecarWebSocketException">The connection ended and every message that arrived before has been taken.</exception>
    public int ReceiveBatch<TState>(TState state, ReceivedMessageHandler<TState> handler, int maxMessages, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxMessages);
        WaitSignal.ValidateTimeout(timeout);

        // Full fence: see Receive.
        _connection.EnterQueueUse();
        try
        {
            ThrowIfExited();
            return TakeBatch(state, handler, maxMessages, timeout);
        }
        finally
        {
            _connection.ExitQueueUse();
        }
    }

    private int TakeBatch<TState>(TState state, ReceivedMessageHandler<TState> handler, int maxMessages, TimeSpan timeout)
    {
        var released = default(BlockReleaseRun);
        int handled = 0;
        try
        {
            while (handled < maxMessages && _connection.Carried.TryTake(out ReceivedMessage carried))
            {
                HandleOne(state, handler, carried, ref released);
                handled++;
            }

            if (handled == 0)
            {
                switch (DequeueSkippingViolations(out ReceivedMessage first, timeout, CancellationToken.None))
                {
                    case QueueWaitResult.Success:
                        OnDequeued();
                        HandleOne(state, handler, first, ref released);
                        handled++;
                        break;
                    case QueueWaitResult.TimedOut:
                        return 0;
                    default:
                        ThrowIfExited();
                        ThrowEnded();
                        return 0;
                }
            }

            BoundedSpmcQueue<ReceivedMessage> queue = _connection.ReceiveQueue;
            while (handled < maxMessages && queue.TryDequeue(out ReceivedMessage next))
            {
                if (next.IsViolationMarker)
                {
                    // Everything before the peer's violation is handed over: the loop fails the connection now, and
                    // the next receive reports it.
                    _connection.Session.RequestDeferredViolation();
                    break;
                }

                OnDequeued();
                HandleOne(state, handler, next, ref released);
                handled++;
            }

            return handled;
        }
        finally
        {
            released.Flush();
        }
    }

    private static void HandleOne<TState>(TState state, ReceivedMessageHandler<TState> handler, in ReceivedMessage message, ref BlockReleaseRun released)
    {
        try
        {
            handler(state, message.Span, message.Type);
        }
        finally
        {
            // This call holds the only copy of a dequeued message, so it may end it without a lease's compare-and-swap.
            message.ReleaseExclusive(ref released);
        }
    }
}
