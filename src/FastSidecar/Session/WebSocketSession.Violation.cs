using FastSidecar.Loop;

namespace FastSidecar.Session;

internal sealed partial class WebSocketSession
{
    private static readonly Action<object?> s_failDeferred = static state => ((WebSocketSession)state!).FailDeferredViolation();

    // The longest a violation waits behind messages the application has not taken, for an application that stopped
    // receiving; one that keeps receiving reaches the violation in order and fails the connection at once.
    private static readonly TimeSpan s_violationGrace = TimeSpan.FromMilliseconds(250);

    // A protocol violation found behind messages that were delivered but not yet taken by the application. Loop thread.
    // Reading stops at the violation; the close frame waits until the application has taken (and answered) the
    // messages that came before it, so peers see replies to good messages before the failure, in stream order.
    private WebSocketProtocolException? _deferredViolation;
    private TimerSlot _violationTimer;

    // 1 once an application thread asked for the deferred failure, so repeated requests post once.
    private int _violationRequested;

    /// <summary>
    /// Any thread: the application has taken every message that arrived before a deferred violation (it dequeued the
    /// owner's marker); fail the connection now. Sends it queued before calling this go out before the close frame.
    /// </summary>
    public void RequestDeferredViolation()
    {
        if (Interlocked.CompareExchange(ref _violationRequested, 1, 0) == 0)
        {
            // False once the loop is stopping: its teardown ends this session, so nothing is left to do (and
            // nothing to throw at an application thread whose message is already queued or taken).
            _loop.TryPost(new WorkItem(s_failDeferred, this));
        }
    }

    /// <summary>Defers <paramref name="violation"/> behind undelivered messages, if the owner can mark its place.</summary>
    private bool TryDeferViolation(WebSocketProtocolException violation)
    {
        if (_phase != SessionPhase.Open || _closeSent || !_owner.TryDeferViolation(this))
        {
            return false;
        }

        _deferredViolation = violation;
        _violationTimer.Arm(_loop, s_violationGrace, s_failDeferred, this);
        return true;
    }

    /// <summary>Loop thread: fails the connection for the deferred violation, after writing what the application queued.</summary>
    private void FailDeferredViolation()
    {
        WebSocketProtocolException? violation = _deferredViolation;
        if (violation is null || _phase == SessionPhase.Closed)
        {
            return;
        }

        if (_phase == SessionPhase.Open && !_closeSent && _transport is not null)
        {
            while (WriteQueuedFrames())
            {
                // The application's answers to the messages before the violation precede the close frame.
            }
        }

        Fail(violation, violation.CloseCode);
    }

    /// <summary>Takes the deferred violation (if any) so that it is recorded as the first cause of the end.</summary>
    private WebSocketProtocolException? TakeDeferredViolation()
    {
        WebSocketProtocolException? violation = _deferredViolation;
        _deferredViolation = null;
        _violationTimer.Cancel(_loop);

        return violation;
    }
}
