using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Text;
using FastSidecar.Loop;
using FastSidecar.Protocol;
using FastSidecar.Protocol.Handshake;
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
        ProcessInput();
        if (_phase is SessionPhase.Open or SessionPhase.Closing && _receivePaused == 0)
        {
            SetInterest(SocketInterest.Read | WriteInterestIfPending());
        }

        Flush();
    }

    private void ReceiveHandshake()
    {
        Debug.Assert(_transport is not null);
        TransportStatus status = _transport.ReceiveAvailable();
        PipeReader input = _transport.Input;
        if (input.TryRead(out ReadResult result))
        {
            ReadOnlySequence<byte> buffer = result.Buffer;
            try
            {
                bool complete = _role == WebSocketRole.Client
                    ? _clientHandshake!.TryReadResponse(ref buffer, out _subProtocol)
                    : TryAcceptClient(ref buffer);
                // Bytes after a complete response are frames nobody has looked at yet: leave them unexamined, or the
                // pipe's next TryRead reports nothing until more bytes arrive (and a server that sent its frames with
                // the response, then waits for us, would wait forever).
                input.AdvanceTo(buffer.Start, complete ? buffer.Start : buffer.End);
                if (complete)
                {
                    OnHandshakeComplete();
                    return;
                }
            }
            catch (WebSocketHandshakeException e)
            {
                input.AdvanceTo(result.Buffer.End);
                Fail(e, sendCloseCode: null);
                return;
            }
        }

        if (status == TransportStatus.EndOfStream)
        {
            Fail(new WebSocketHandshakeException("The peer closed the connection during the opening handshake."), sendCloseCode: null);
        }
        else if (status == TransportStatus.Failed)
        {
            Fail(_transport.Fault ?? new WebSocketConnectionException($"The connection failed during the opening handshake: {_transport.LastError}."), sendCloseCode: null);
        }
        else if (_phase == SessionPhase.Handshaking)
        {
            Flush(); // a TLS transport may have written handshake records, or the upgrade request, while receiving
        }
    }

    private string? _subProtocol;

    /// <summary>Server role: the request target (the RFC 6455 §4.2.1 resource name) of the client's upgrade request, what a server routes on; set before <see cref="ISessionOwner.OnOpened"/>.</summary>
    public string? RequestPath { get; private set; }

    private bool TryAcceptClient(ref ReadOnlySequence<byte> buffer)
    {
        if (!ServerHandshake.TryReadRequest(ref buffer, _maxHandshakeHeaderBytes, out ServerHandshakeRequest request))
        {
            return false;
        }

        RequestPath = request.Path;

        ServerHandshake.WriteAccept(_transport!.Output, request, subProtocol: null);
        return true;
    }

    private void OnHandshakeComplete()
    {
        CancelDeadline();
        _phase = SessionPhase.Open;
        _clientHandshake = null;
        SetInterest(SocketInterest.Read);
        StartKeepAlive();
        _owner.OnOpened(this, _subProtocol);
        // Frames may have arrived in the same read as the end of the handshake, and sends may be queued already.
        ProcessInput();
        DrainOutbound();
    }

    private void ReceiveFrames()
    {
        if (_transport is null || _receivePaused != 0)
        {
            return;
        }

        TransportStatus status = _transport.ReceiveAvailable();
        ProcessInput();
        if (_phase == SessionPhase.Closed)
        {
            return;
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

    private void OnFrameEvent(FrameReadStatus status, in InboundMessage message)
    {
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
            _pool.Return(message.Buffer);
            return;
        }

        if (_owner.TryDeliver(this, message))
        {
            return;
        }

        _heldMessage = message;
        _hasHeldMessage = true;
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

        SetInterest(WriteInterestIfPending()); // stop reading: TCP flow control now slows the peer down
    }

    private void OnCloseFrame()
    {
        _closeReceived = true;
        ushort code = _reader.CloseCode;
        _closeCode ??= (WebSocketCloseCode)code;
        _closeReason ??= _reader.CloseReason.IsEmpty ? null : Encoding.UTF8.GetString(_reader.CloseReason);
        if (!_closeSent)
        {
            // The peer started the closing handshake: echo its code, RFC 6455 §5.5.1. 1005 is the reader's "no code",
            // which the writer turns into an empty close frame.
            _endKind = SessionEndKind.ClosedByPeer;
            RecordPeerClose();
            WriteClose(code, default);
        }

        EnterClosing();
    }

    private void RecordPeerClose()
    {
        _fault ??= new WebSocketClosedException(
            $"The peer closed the connection ({_reader.CloseCode}).", (WebSocketCloseCode)_reader.CloseCode,
            _reader.CloseReason.IsEmpty ? null : Encoding.UTF8.GetString(_reader.CloseReason));
    }

    private void OnEndOfStream()
    {
        if (_phase == SessionPhase.Closing && (_closeReceived || _closeSent))
        {
            // The TCP close that ends a closing handshake (or follows our failure close): done, cleanly.
            Finish(abortive: false);
            return;
        }

        Fail(new WebSocketConnectionException("The peer closed the TCP connection without a close frame."), sendCloseCode: null);
    }

    private void ReleaseHeldMessage()
    {
        if (_hasHeldMessage)
        {
            _pool.Return(_heldMessage.Buffer);
            _hasHeldMessage = false;
            _heldMessage = default;
        }
    }
}
