using FastSidecar.Loop;

namespace FastSidecar.Connection;

/// <summary>
/// Gives a grown queue's storage back once traffic has been light for a whole period: a timer on the loop, armed only
/// while a queue is larger than its first ring, asks each queue to shrink if it stayed at or below a quarter of its
/// ring since the last tick. Shrinking on a clock rather than on every drain keeps a flood's bursts from growing and
/// shrinking the rings over and over (each step a ring to allocate), and an idle connection still gets back to its
/// small first rings.
/// </summary>
internal sealed partial class ClientConnection
{
    /// <summary>How long a grown queue must stay light before it shrinks.</summary>
    internal static readonly TimeSpan QueueTrimPeriod = TimeSpan.FromSeconds(1);

    private static readonly Action<object?> s_onQueueTrim = static state => ((ClientConnection)state!).OnQueueTrimTimer();

    private TimerSlot _queueTrimTimer; // loop thread only

    /// <summary>Loop thread, once per drain or burst: starts the trim timer when a queue has grown.</summary>
    private void ArmQueueTrimIfGrown()
    {
        if (!_queueTrimTimer.IsArmed && !_hasEnded && (SendQueue.IsGrown || ReceiveQueue.IsGrown))
        {
            _queueTrimTimer.Arm(Loop, QueueTrimPeriod, s_onQueueTrim, this);
        }
    }

    private void OnQueueTrimTimer()
    {
        _queueTrimTimer.OnFired();
        if (_hasEnded)
        {
            return; // the queues are completed and may be recycled by Exit: nothing of theirs is ours to touch now
        }

        // The loop is the send queue's only consumer and the receive queue's only producer: the sides that may shrink.
        bool sendGrown = SendQueue.TrimIfQuiet();
        bool receiveGrown = ReceiveQueue.TrimIfQuiet();
        if (sendGrown || receiveGrown)
        {
            _queueTrimTimer.Arm(Loop, QueueTrimPeriod, s_onQueueTrim, this);
        }
    }

    /// <summary>Loop thread, when the connection ends: the timer must not outlive the queues.</summary>
    private void StopQueueTrim() => _queueTrimTimer.Cancel(Loop);
}
