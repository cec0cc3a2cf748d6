using System.Text;
using FastSidecar.Protocol;
using FastSidecar.Loop;
using FastSidecar.Transport;

namespace FastSidecar.Session;

internal sealed partial class WebSocketSession
{
    /// <summary>
    /// Loop thread: the application's close. Flushes every queued message, sends a close frame, and waits for the
    /// peer's close and its TCP close under the close timeout; the owner hears <see cref="ISessionOwner.OnClosed"/>.
    /// Before the connection is open this aborts it instead.
    /// </summary>
    public void BeginClose(WebSocketCloseCode code, string? reason)
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
        while (WriteQueuedFrames())
        {
            // Everything the application queued before Exit goes out ahead of the close frame.
        }

        byte[]? reasonBytes = reason is null ? null : Encoding.UTF8.GetBytes(reason);
        _closeCode = code;
        _closeReason = reason;
        WriteClose((ushort)code, reasonBytes);
        EnterClosing();
        if (_receivePaused != 0)
        {
            // The owner stops taking messages at Exit (it drops and counts them), so reading can resume: the peer's
            // close frame may be queued behind the messages that filled the application's queue.
            ResumeReceiving();
        }

        Flush();
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
}
