using System.Buffers;
using System.IO.Pipelines;
using FastSidecar.Loop;
using FastSidecar.Protocol;
using FastSidecar.Transport;

namespace FastSidecar.Session;

internal sealed partial class WebSocketSession
{
    private static readonly Action<object?> s_resume = static state => ((WebSocketSession)state!).ResumeReceiving();

    // A complete message the owner's queue had no room for; at most one, because reading stops until it is taken.
    private InboundMessage _heldMessage;
    private bool _hasHeldMessage;

    // 1 while reading is paused for a full receive queue. Written by the loop, read by application threads after
    // they take a message (their dequeue is an interlocked operation, which orders it before this read).
    private int _receivePaused;

    // 1 while a resume is posted and not yet run, so a burst of dequeues posts once.
    private int _resumePosted;

    // Times reading stopped for a full receive queue. Written by the loop only (Volatile), read by diagnostics.
    private long _receivePauses;

    /// <summary>Any thread: how many times the session has stopped reading because the application's queue was full.</summary>
    public long ReceivePauses => Volatile.Read(ref _receivePauses);

    /// <summary>Any thread: true while the session has stopped reading because the application's queue was full.</summary>
    public bool IsReceivePaused => Volatile.Read(ref _receivePaused) != 0;

    /// <summary>Any thread: asks the loop to resume reading after the application made room in its queue.</summary>
    public void RequestResume()
    {
        if (Interlocked.CompareExchange(ref _resumePosted, 1, 0) == 0)
        {
            // False once the loop is stopping: its teardown ends this session, so nothing is left to do (and
            // nothing to throw at an application thread whose message is already queued or taken).
            _loop.TryPost(new WorkItem(s_resume, this));
        }
    }

    /// <summary>Loop thread: delivers the held message and goes back to reading, if the queue has room now.</summary>
    public void ResumeReceiving()
    {
        Volatile.Write(ref _resumePosted, 0);
        if (_phase is not (SessionPhase.Open or SessionPhase.Closing) || _receivePaused == 0)
        {
            return;
        }

        if (_hasHeldMessage && !_owner.TryDeliver(this, _heldMessage))
        {
            return; // still full: the next dequeue asks again
        }

        _hasHeldMessage = false;
        _heldMessage = default;
        Volatile.Write(ref _receivePaused, 0);
        _owner.AnnounceDelivered();
        ProcessInput();
        CheckFragmentedMessage();
        if (_phase is SessionPhase.Open or SessionPhase.Closing && _receivePaused == 0)
        {
            SetInterest(SocketInterest.Read | WriteInterestIfPending());
        }

        Flush();
    }

    private void ReceiveFrames()
    {
        if (_transport is null || _receivePaused != 0)
        {
            return;
        }

        NoteSocketRead();
        TransportStatus status = _transport.ReceiveAvailable();
        ProcessInput();
        CheckFragmentedMessage();
        if (_phase == SessionPhase.Closed)
        {
            return;
        }

        if (status == TransportStatus.WouldBlock && _closeReceived && _closeSent && _role == WebSocketRole.Client)
        {
            // Both close frames are through: a server closes TCP right after its close frame, so its FIN has usually
            // arrived with it. Reading it now ends the session in this turn instead of the next readiness wait.
            status = _transport.ReceiveAvailable();
        }

        switch (status)
        {
            case TransportStatus.EndOfStream:
                OnEndOfStream();
                break;
            case TransportStatus.Failed:
                Fail(_transport.Fault ?? new WebSocketConnectionException($"Receiving failed: {_transport.LastError}."), sendCloseCode: null);
                break;
        }

        Flush();
    }

    /// <summary>Parses what the input pipe holds, until it needs more bytes, the owner's queue is full, or a close frame arrives.</summary>
    private void ProcessInput()
    {
        if (_transport is null || _closeReceived || _receivePaused != 0)
        {
            return;
        }

        PipeReader input = _transport.Input;
        if (!input.TryRead(out ReadResult result))
        {
            return;
        }

        try
        {
            ParseBurst(input, result);
        }
        finally
        {
            // One hand-off per burst: the block is let go and waiting consumers are woken once, not per message.
            _reader.EndBurst();
            _owner.AnnounceDelivered();
        }
    }

    private void ParseBurst(PipeReader input, ReadResult result)
    {
        ReadOnlySequence<byte> buffer = result.Buffer;
        _heardFromPeer |= !buffer.IsEmpty;
        bool needMore = false;
        if (_endKind == SessionEndKind.Failed || _deferredViolation is not null)
        {
            // The connection already failed (or will, once the application reaches the violation): bytes still
            // arriving before the TCP close mean nothing now.
            input.AdvanceTo(buffer.End);
            return;
        }

        try
        {
            while (!_closeReceived && _receivePaused == 0 && _phase != SessionPhase.Closed)
            {
                if (TakeWholeFrames(ref buffer))
                {
                    continue;
                }

                FrameReadStatus status = _reader.Read(ref buffer, out InboundMessage message);
                if (status == FrameReadStatus.NeedMoreData)
                {
                    needMore = true;
                    break;
                }

                OnFrameEvent(status, message);
            }
        }
        catch (WebSocketProtocolException violation)
        {
            input.AdvanceTo(buffer.End);
            if (!TryDeferViolation(violation))
            {
                Fail(violation, violation.CloseCode);
            }

            return;
        }

        if (_transport is not null)
        {
            // Only a reader that asked for more bytes has examined the rest; after a pause (full receive queue) the
            // remaining frames are unread, and marking them examined would hide them from the next TryRead until
            // new bytes arrived.
            input.AdvanceTo(buffer.Start, needMore ? buffer.End : buffer.Start);
        }
    }

    /// <summary>
    /// Delivers every whole small data frame at the start of the buffer's first segment, slicing the sequence once
    /// for all of them; false when there was none (the general path reads the next frame).
    /// </summary>
    private bool TakeWholeFrames(ref ReadOnlySequence<byte> buffer)
    {
        if (!_reader.AtWholeFrameBoundary)
        {
            return false;
        }

        ReadOnlySpan<byte> span = buffer.FirstSpan;
        long available = buffer.Length;
        int consumed = 0;
        try
        {
            while (_receivePaused == 0 && _phase != SessionPhase.Closed
                && _reader.TryReadWholeFrame(span[consumed..], available - consumed, out InboundMessage message, out int frameLength))
            {
                // Consumed before delivery, as the general path does: a message the full queue refuses is held, not reread.
                consumed += frameLength;
                OnFrameEvent(FrameReadStatus.Message, message);
            }
        }
        finally
        {
            buffer = buffer.Slice(consumed);
        }

        return consumed > 0;
    }

    private void OnFrameEvent(FrameReadStatus status, in InboundMessage message)
    {
        NoteFrameFromPeer();
        switch (status)
        {
            case FrameReadStatus.Message:
                Deliver(message);
                break;
            case FrameReadStatus.Ping:
                // The reader's obligation: answer with the same payload, unless our close frame already went out.
                if (!_closeSent)
                {
                    AnswerPing(_reader.ControlPayload);
                }

                break;
            case FrameReadStatus.Pong:
                break;
            case FrameReadStatus.Close:
                OnCloseFrame();
                break;
        }
    }

    private void Deliver(in InboundMessage message)
    {
        if (_closeSent && _endKind != SessionEndKind.ClosedByUs)
        {
            // We failed the connection and are only draining towards the TCP close: nothing reaches the owner.
            message.Release(_pool);
            return;
        }

        if (_owner.TryDeliver(this, message))
        {
            return;
        }

        _heldMessage = message;
        _hasHeldMessage = true;
        _owner.AnnounceDelivered(); // consumers parked before this burst must see what it delivered, or nobody frees a slot
        // The full fence of the exchange orders this flag before the re-check below; an application thread that
        // made room after our failed attempt either sees the flag and posts a resume, or its dequeue is visible
        // to the re-check.
        Interlocked.Exchange(ref _receivePaused, 1);
        if (_owner.TryDeliver(this, _heldMessage))
        {
            _hasHeldMessage = false;
            _heldMessage = default;
            Volatile.Write(ref _receivePaused, 0);
            return;
        }

        Volatile.Write(ref _receivePauses, _receivePauses + 1);
        SetInterest(WriteInterestIfPending()); // stop reading: TCP flow control now slows the peer down
    }

    private void ReleaseHeldMessage()
    {
        if (_hasHeldMessage)
        {
            _heldMessage.Release(_pool);
            _hasHeldMessage = false;
            _heldMessage = default;
        }
    }
}
