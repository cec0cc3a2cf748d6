using System.Diagnostics;
using FastSidecar.Loop;

namespace FastSidecar;

/// <summary>Timers owned by the loop: scheduled, cancelled and fired on the loop thread only.</summary>
public sealed partial class SidecarLoop
{
    private const int MaxTimersPerCycle = 1024; // a timer re-arming itself with dueIn 0 must not monopolise a cycle

    /// <summary>Calls <paramref name="callback"/>(<paramref name="state"/>) on the loop thread after <paramref name="dueIn"/>. Loop thread only.</summary>
    /// <remarks>
    /// Timers fire no earlier than due, in due order (ties in scheduling order). A parked loop waits with millisecond
    /// resolution (epoll_wait), rounded up, so a timer may fire up to about a millisecond late plus scheduling noise.
    /// </remarks>
    internal LoopTimer ScheduleTimer(TimeSpan dueIn, Action<object?> callback, object? state)
    {
        AssertOnLoopThread();
        ArgumentNullException.ThrowIfNull(callback);
        if (_tearingDown)
        {
            ThrowStopped();
        }

        long ticks = Math.Clamp(dueIn.Ticks, 0, TimeSpan.FromDays(365).Ticks);
        long delta = (long)((double)ticks * Stopwatch.Frequency / TimeSpan.TicksPerSecond);
        return _timers.Schedule(Now + delta, callback, state);
    }

    /// <summary>Cancels <paramref name="timer"/>; false when it already fired or was cancelled. O(1). Loop thread only.</summary>
    internal bool CancelTimer(LoopTimer timer)
    {
        AssertOnLoopThread();
        return _timers.Cancel(timer);
    }

    /// <summary>Timers scheduled and not yet fired or cancelled. Loop thread only.</summary>
    internal int PendingTimers
    {
        get
        {
            AssertOnLoopThread();
            return _timers.Count;
        }
    }

    private int FireDueTimers()
    {
        if (_timers.Count == 0)
        {
            return 0;
        }

        long now = Now;
        int fired = 0;
        while (fired < MaxTimersPerCycle && _timers.TryTakeDue(now, out Action<object?> callback, out object? state))
        {
            fired++;
            try
            {
                callback(state);
            }
            catch (Exception e)
            {
                ReportFault(e);
            }

            if (Volatile.Read(ref _state) != StateRunning)
            {
                break;
            }
        }

        return fired;
    }

    /// <summary>The park timeout: milliseconds until the next timer, rounded up so the loop never wakes early and spins; -1 when none.</summary>
    private int MillisecondsUntilNextTimer()
    {
        long due = _timers.NextDue;
        if (due == long.MaxValue)
        {
            return -1;
        }

        long remaining = due - Now;
        if (remaining <= 0)
        {
            return 0;
        }

        long frequency = Stopwatch.Frequency;
        long cap = frequency * 3600; // wait at most an hour per park; avoids overflow below
        remaining = Math.Min(remaining, cap);
        return (int)(((remaining * 1000) + frequency - 1) / frequency);
    }
}
