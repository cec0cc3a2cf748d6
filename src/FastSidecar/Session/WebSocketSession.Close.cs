using System.Diagnostics;
using System.Text;
using FastSidecar.Protocol;
using FastSidecar.Loop;

namespace FastSidecar.Session;

internal sealed partial class WebSocketSession
{
    // Set when the application asked to close and the queue is still flushing ahead of the close frame.
    private RequestedClose? _closeRequested;

    private readonly record struct RequestedClose(WebSocketCloseCode Code, string? Reason);

    /// <summary>Loop thread: <see cref="BeginClose(WebSocketCloseCode, string?, TimeSpan)"/> under the configured close timeout.</summary>
    public void BeginClose(WebSocketCloseCode code, string? reason) => BeginClose(code, reason, _closeTimeout);

    /// <summary>
    /// Loop thread: the application's close. Flushes the queued messages, sends a close frame, and waits for the
    /// peer's close and its TCP close, all within <paramref name="timeout"/>; the owner hears
    /// <see cref="ISessionOwner.OnClosed"/>. Before the connection is open this aborts it instead.
    /// </summary>
    /// <remarks>
    /// The deadline covers the flush too: a peer that does not read must not stretch the close by the size of the
    /// send queue. The queue drains as the socket takes it, one budget at a time (never framed all at once into
    /// the output pipe, which has no limit of its own); what is still queued or buffered at the deadline is counted
    /// as not sent.
    /// </remarks>
    public void BeginClose(WebSocketCloseCode code, string? reason, TimeSpan timeout)
    {
        _loop.AssertOnLoopThread();
        switch (_phase)
        {
            case SessionPhase.Closed:
                return;
            case SessionPhase.Idle:
            case SessionPhase.Connecting:
            case SessionPhase.Handshaking:
                Abort("Exit was called while connecting");
                return;
            case SessionPhase.Closing:
                return; // a close is already under way; its deadline is running
        }

        if (_deferredViolation is not null)
        {
            FailDeferredViolation(); // the close that goes out is the violation's
            return;
        }

        _endKind = SessionEndKind.ClosedByUs;
        _closeRequested = new RequestedClose(code, reason);
        _phase = SessionPhase.Closing;
        ArmDeadline(timeout);
        if (_receivePaused != 0)
        {
            // The owner stops taking messages at Exit (it drops and counts them), so reading can resume: the peer's
            // close frame may be queued behind the messages that filled the application's queue.
            ResumeReceiving();
        }

        ContinueClosingFlush();
    }

    /// <summary>
    /// Loop thread, while an application close flushes the queue: writes the next budget of queued messages, and
    /// the close frame once the queue is empty. Runs again when the socket has taken what was written.
    /// </summary>
    private void ContinueClosingFlush()
    {
        if (_closeRequested is not { } close || _closeSent || _phase != SessionPhase.Closing || _transport is null)
        {
            return;
        }

        if ((_interest & SocketInterest.Write) != 0)
        {
            return; // the socket is full; Flush schedules the next round when it is not
        }

        if (WriteQueuedFrames())
        {
            Flush();
            if (_phase == SessionPhase.Closing && (_interest & SocketInterest.Write) == 0)
            {
                ScheduleDrain(); // budget spent: let the loop serve its other work, then come back
            }

            return;
        }

        _closeCode = close.Code;
        _closeReason = close.Reason;
        WriteClose((ushort)close.Code, close.Reason is null ? default : Encoding.UTF8.GetBytes(close.Reason));
        EnterClosing();
    }

    /// <summary>
    /// Starts (or continues) waiting for the rest of the closing handshake, bounded by the close timeout. A client
    /// that has both close frames half-closes and waits for the server's TCP close; it never waits past the deadline.
    /// </summary>
    private void EnterClosing()
    {
        if (_phase != SessionPhase.Closing)
        {
            _phase = SessionPhase.Closing;
            ArmDeadline(_closeTimeout);
        }

        // Flush first: the close frame usually leaves in this one call, and then no writability interest is needed.
        Flush();
        if (_phase == SessionPhase.Closing && _role == WebSocketRole.Client && _receivePaused == 0)
        {
            // Keep reading: the peer's close frame, then its FIN (end of stream), are what we wait for now.
            SetInterest(SocketInterest.Read | WriteInterestIfPending());
        }
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

    private void WriteClose(ushort code, ReadOnlySpan<byte> reasonUtf8)
    {
        Debug.Assert(!_closeSent);
        _pendingPong.Clear(); // nothing may follow a close frame
        bool mask = _maskKeys is not null;
        FrameWriter.WriteClose(_transport!.Output, code, reasonUtf8, mask, mask ? _maskKeys!.NextKey() : 0);
        _closeSent = true;
    }
}
