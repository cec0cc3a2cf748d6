using FastSidecar.Loop;
using FastSidecar.Protocol;
using FastSidecar.Transport;

namespace FastSidecar.Session;

internal sealed partial class WebSocketSession
{
    private static readonly Action<object?> s_drain = static state => ((WebSocketSession)state!).DrainOutbound();

    // Frames written per drain before the loop flushes and looks at its other work; bounds the output pipe too.
    private const int DrainBudgetBytes = 256 * 1024;

    // 1 while a drain is posted to the loop and has not started; producers post only when they flip it from 0.
    private int _drainScheduled;

    // Messages whose frames are in the output pipe but not yet all handed to the kernel.
    private long _messagesBuffered;
    private long _messagesSent;

    /// <summary>
    /// Any thread: makes sure a drain of the owner's outbound queue is posted, or runs it here when the loop is parked
    /// and lends its state (<see cref="SidecarLoop.TryRunWhileParked"/>: no wake-up). Called after every enqueue.
    /// </summary>
    /// <remarks>
    /// The exchange is a full fence between the producer's enqueue and its read of the flag; the drain clears the flag
    /// and fences before it reads the queue. So either the producer sees 0 and posts, or the drain that is about to
    /// run sees the item: no message waits for a drain that nobody posted.
    /// </remarks>
    public void ScheduleDrain()
    {
        if (Interlocked.Exchange(ref _drainScheduled, 1) == 0 && !(_loop.LendsWhenParked && _loop.TryRunWhileParked(s_drain, this)))
        {
            // False once the loop is stopping: its teardown ends this session, so nothing is left to do (and
            // nothing to throw at an application thread whose message is already queued or taken).
            _loop.TryPost(new WorkItem(s_drain, this));
        }
    }

    /// <summary>Loop thread: writes queued messages as frames into the output pipe, then pushes the pipe to the socket.</summary>
    private void DrainOutbound()
    {
        Interlocked.Exchange(ref _drainScheduled, 0);
        if (_phase == SessionPhase.Closing)
        {
            ContinueClosingFlush(); // an application close flushes the queue ahead of its close frame
            return;
        }

        if (_phase != SessionPhase.Open || _closeSent || _transport is null)
        {
            return; // queued messages stay queued; whoever ends the session counts them as not sent
        }

        if ((_interest & SocketInterest.Write) != 0)
        {
            return; // the socket is full; OnSocketWritable drains again once it is not
        }

        bool more = WriteQueuedFrames();
        Flush();
        if (more && _phase == SessionPhase.Open && (_interest & SocketInterest.Write) == 0)
        {
            ScheduleDrain(); // budget spent: let the loop serve its other work, then come back
        }
    }

    /// <summary>Writes queued messages until the queue is empty or the budget is spent; true if messages may remain.</summary>
    private bool WriteQueuedFrames()
    {
        long start = _transport!.Output.UnflushedBytes;
        while (_transport.Output.UnflushedBytes - start < DrainBudgetBytes)
        {
            if (!_owner.TryTakeOutbound(out OutboundMessage message))
            {
                return false;
            }

            WriteDataFrame(message.Type == MessageType.Text ? Opcode.Text : Opcode.Binary, message.Payload);
            _pool.Return(message.Buffer);
            _messagesBuffered++;
        }

        return true;
    }

    private void OnSocketWritable() => Flush(); // when the socket takes everything, Flush restarts the drain

    private void WriteFrame(Opcode opcode, ReadOnlySpan<byte> payload)
    {
        bool mask = _maskKeys is not null;
        FrameWriter.WriteFrame(_transport!.Output, opcode, fin: true, payload, mask, mask ? _maskKeys!.NextKey() : 0);
    }

    /// <summary>
    /// Pushes the output pipe to the socket. Waits for writability when the socket is full, and counts messages as
    /// sent once everything buffered has reached the kernel.
    /// </summary>
    private void Flush()
    {
        if (_transport is null || _phase == SessionPhase.Closed)
        {
            return;
        }

        TransportStatus status = _transport.SendBuffered();
        if (status == TransportStatus.Done)
        {
            _unflushedPongs = 0;
            if (_pendingPong.IsPending && !_closeSent)
            {
                // Everything before it reached the kernel: now the owed pong may join the output.
                WriteFrame(Opcode.Pong, _pendingPong.Take());
                _unflushedPongs = 1;
                status = _transport.SendBuffered();
            }
        }

        switch (status)
        {
            case TransportStatus.Done:
                _messagesSent += _messagesBuffered;
                _messagesBuffered = 0;
                if ((_interest & SocketInterest.Write) != 0)
                {
                    SetInterest(_interest & ~SocketInterest.Write);
                    if (_phase == SessionPhase.Open || (_closeRequested is not null && !_closeSent))
                    {
                        // A drain that found the socket full stopped and left the rest queued for this moment. Whatever
                        // emptied the socket (a writable event, or the flush after a read) must restart it: the
                        // producers may all have finished, so no later Send would.
                        ScheduleDrain();
                    }
                }

                if (_phase == SessionPhase.Closing && _closeSent && _role == WebSocketRole.Server && _closeReceived)
                {
                    // Server role closes TCP first once both close frames crossed (RFC 6455 §7.1.1).
                    Finish(abortive: false);
                }

                break;
            case TransportStatus.WouldBlock:
                SetInterest(_interest | SocketInterest.Write);
                break;
            case TransportStatus.Failed:
                Fail(_transport.Fault ?? new WebSocketConnectionException($"Sending failed: {_transport.LastError}."), sendCloseCode: null);
                break;
        }
    }

    private SocketInterest WriteInterestIfPending() =>
        _transport is not null && _transport.HasPendingOutput ? SocketInterest.Write : SocketInterest.None;

    /// <summary>Frames buffered but never handed to the kernel, counted as not sent when the session ends.</summary>
    private long DropBufferedFrames()
    {
        long notSent = _messagesBuffered;
        _messagesBuffered = 0;
        return notSent;
    }
}
