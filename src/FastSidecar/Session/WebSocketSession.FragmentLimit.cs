using System.Diagnostics;
using FastSidecar.Loop;
using FastSidecar.Protocol;

namespace FastSidecar.Session;

/// <summary>
/// The bound on how long one fragmented message may take. Without it a peer that sends a non-final frame and then
/// zero-length continuations forever holds the connection open with no message and no error, and its frames look like
/// liveness to the keep-alive.
/// </summary>
/// <remarks>
/// Checked after every batch of frames (a peer that keeps sending) and by a loop timer (a peer that stalls mid-message).
/// The timer is armed when a fragmented message is first seen and not cancelled when it ends: when it fires with no
/// message in progress it simply does not re-arm, so a stream of short fragmented messages costs no timer churn.
/// </remarks>
internal sealed partial class WebSocketSession
{
    private static readonly Action<object?> s_onFragmentTimer = static state => ((WebSocketSession)state!).OnFragmentTimer();

    private TimeSpan _maxFragmentedMessageDuration = Timeout.InfiniteTimeSpan;
    private long _timedFragmentedMessage;   // the reader's number of the message being timed; 0 when none
    private long _timedFragmentedSince;     // loop timestamp when that message was first seen
    private TimerSlot _fragmentTimer;

    /// <summary>
    /// Loop thread, before the session starts: a fragmented message still unfinished <paramref name="maxDuration"/> after
    /// it began fails the connection with 1008. <see cref="Timeout.InfiniteTimeSpan"/> turns the bound off.
    /// </summary>
    public void ConfigureFragmentLimit(TimeSpan maxDuration) => _maxFragmentedMessageDuration = maxDuration;

    /// <summary>Loop thread, after frames were parsed or when the timer fires: fails the connection if the bound is exceeded.</summary>
    private void CheckFragmentedMessage()
    {
        if (_maxFragmentedMessageDuration == Timeout.InfiniteTimeSpan || _phase != SessionPhase.Open || _endKind == SessionEndKind.Failed)
        {
            return;
        }

        long current = _reader.CurrentFragmentedMessage;
        if (current == 0)
        {
            _timedFragmentedMessage = 0;
            return;
        }

        long now = SidecarLoop.Now;
        if (current != _timedFragmentedMessage || _receivePaused != 0)
        {
            // A new message starts its own clock; so does a paused reader, whose slowness is ours, not the peer's.
            _timedFragmentedMessage = current;
            _timedFragmentedSince = now;
        }

        TimeSpan elapsed = Stopwatch.GetElapsedTime(_timedFragmentedSince, now);
        if (elapsed >= _maxFragmentedMessageDuration)
        {
            Fail(new WebSocketProtocolException(WebSocketCloseCode.PolicyViolation,
                $"A fragmented message was still unfinished after {elapsed.TotalMilliseconds:F0} ms; the limit (MaxFragmentedMessageDuration) is {_maxFragmentedMessageDuration.TotalMilliseconds:F0} ms."),
                WebSocketCloseCode.PolicyViolation);
            return;
        }

        if (!_fragmentTimer.IsArmed)
        {
            _fragmentTimer.Arm(_loop, _maxFragmentedMessageDuration - elapsed, s_onFragmentTimer, this);
        }
    }

    private void OnFragmentTimer()
    {
        _fragmentTimer.OnFired();
        if (_phase != SessionPhase.Open)
        {
            return;
        }

        // Take what has arrived first: a final fragment waiting in the socket when the loop wakes for this timer
        // finished the message in time, and the bound is on the peer, not on when the loop got to run.
        ReceiveFrames();
        CheckFragmentedMessage();
    }

    private void StopFragmentTimer()
    {
        _fragmentTimer.Cancel(_loop);
    }
}
