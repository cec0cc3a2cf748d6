namespace FastSidecar.Loop;

/// <summary>
/// One re-armable timer of a loop-thread object (a deadline, the keep-alive, a grace period): the timer's token and
/// whether it is armed, so it is cancelled exactly when it is pending and never twice.
/// </summary>
/// <remarks>Loop thread only. A field of its owner: mutable struct on purpose, never copied.</remarks>
internal struct TimerSlot
{
    private LoopTimer _timer;
    private bool _armed;

    /// <summary>True from <see cref="Arm"/> until it fires or is cancelled.</summary>
    public readonly bool IsArmed => _armed;

    /// <summary>Schedules <paramref name="callback"/>(<paramref name="state"/>) in <paramref name="dueIn"/>, replacing any pending run.</summary>
    public void Arm(SidecarLoop loop, TimeSpan dueIn, Action<object?> callback, object? state)
    {
        Cancel(loop);
        _timer = loop.ScheduleTimer(dueIn, callback, state);
        _armed = true;
    }

    /// <summary>Cancels the pending run, if any.</summary>
    public void Cancel(SidecarLoop loop)
    {
        if (_armed)
        {
            loop.CancelTimer(_timer);
            _armed = false;
        }
    }

    /// <summary>The timer's callback calls this first: a timer that has fired has nothing left to cancel.</summary>
    public void OnFired() => _armed = false;
}
