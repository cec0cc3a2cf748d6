using System.Globalization;

namespace FastSidecar;

/// <summary>What <see cref="SidecarLoop.Stop"/> did: whether the loop thread exited in time, how long it took and what was torn down.</summary>
/// <remarks>
/// The counts come from the loop thread's teardown; they are known once the thread has finished it, so a report
/// returned by a <see cref="SidecarLoop.Stop"/> call made on the loop thread itself (which cannot wait for its own
/// exit) has <see cref="TeardownCompleted"/> false and zero counts. A later <see cref="SidecarLoop.Stop"/> from another
/// thread returns the complete report.
/// </remarks>
public sealed class LoopStopReport
{
    /// <summary>True when the loop thread had exited when <see cref="SidecarLoop.Stop"/> returned.</summary>
    public bool Joined { get; init; }

    /// <summary>True when the teardown (timers, resources, queue, selector) had finished; implied by <see cref="Joined"/>.</summary>
    public bool TeardownCompleted { get; init; }

    /// <summary>True when this report was produced by a call made on the loop thread, which never waits for itself.</summary>
    public bool RequestedOnLoopThread { get; init; }

    /// <summary>From the first stop request to the end of the teardown, or to this call's return when the teardown had not finished.</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>Work items posted but never run (the run queue and overflow at teardown).</summary>
    public int CancelledWorkItems { get; init; }

    /// <summary>Timers scheduled but not yet fired.</summary>
    public int CancelledTimers { get; init; }

    /// <summary>Owned resources aborted (connections, pending invocations).</summary>
    public int AbortedResources { get; init; }

    /// <summary>Socket registrations still live after the resources were aborted, removed by the loop (their sockets are not closed by it).</summary>
    public int RemovedRegistrations { get; init; }

    /// <inheritdoc/>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"Joined={Joined} TeardownCompleted={TeardownCompleted} Duration={Duration.TotalMilliseconds:F3}ms WorkItems={CancelledWorkItems} Timers={CancelledTimers} Resources={AbortedResources} Registrations={RemovedRegistrations}");
}
