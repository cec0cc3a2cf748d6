using FastSidecar.Queues;
using System.Diagnostics;
using FastSidecar.Loop;

namespace FastSidecar;

/// <summary>Stopping: request (any thread, idempotent), teardown (loop thread), join (caller).</summary>
public sealed partial class SidecarLoop
{
    private static readonly TimeSpan s_defaultJoinTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Stops the loop: no more work is accepted; on the loop thread, after the callback that is running, timers are
    /// cancelled, owned resources aborted, queued work counted and discarded, socket registrations removed and the
    /// epoll/eventfd descriptors closed; then the thread exits and this call joins it for up to <paramref name="joinTimeout"/>.
    /// </summary>
    /// <remarks>
    /// Idempotent and safe from any thread, concurrently: every call waits for the same teardown and returns its
    /// report. Called on the loop thread itself (from a callback) it cannot wait for its own thread: it only requests
    /// the stop and returns at once with <see cref="LoopStopReport.RequestedOnLoopThread"/> set; the loop leaves its
    /// duty cycle when that callback returns.
    /// </remarks>
    /// <param name="joinTimeout">How long to wait for the loop thread; <see cref="Timeout.InfiniteTimeSpan"/> to wait for ever.</param>
    public LoopStopReport Stop(TimeSpan joinTimeout)
    {
        ValidateTimeout(joinTimeout);
        RequestStop();
        if (IsOnLoopThread)
        {
            return BuildReport(joined: false, onLoopThread: true);
        }

        bool joined = _thread.Join(joinTimeout);
        return BuildReport(joined, onLoopThread: false);
    }

    /// <summary>Stops the loop, waiting up to five seconds for its thread (see <see cref="Stop"/>).</summary>
    public void Dispose() => Stop(s_defaultJoinTimeout);

    /// <summary>Asks the loop to stop without waiting for it (any thread, idempotent); <see cref="Stop"/> joins.</summary>
    /// <remarks>
    /// On the loop thread (a connection that owns its loop and has just ended) the duty cycle leaves after the
    /// running callback and tears down at once, instead of idling until Exit's stop request wakes it.
    /// </remarks>
    internal void RequestStop()
    {
        Interlocked.CompareExchange(ref _stopRequestedAt, Stopwatch.GetTimestamp(), 0);
        // Full fence (CAS) before Wake reads _parked: pairs with Park's write of _parked then read of _state.
        if (Interlocked.CompareExchange(ref _state, StateStopping, StateRunning) == StateRunning)
        {
            Wake();
        }
    }

    private LoopStopReport BuildReport(bool joined, bool onLoopThread)
    {
        TeardownResult? teardown = Volatile.Read(ref _teardown);
        long requestedAt = Interlocked.Read(ref _stopRequestedAt);
        long end = teardown?.FinishedAt ?? Stopwatch.GetTimestamp();
        return new LoopStopReport
        {
            Joined = joined,
            TeardownCompleted = teardown is not null,
            RequestedOnLoopThread = onLoopThread,
            Duration = Stopwatch.GetElapsedTime(requestedAt, end),
            CancelledWorkItems = teardown?.WorkItems ?? 0,
            CancelledTimers = teardown?.Timers ?? 0,
            AbortedResources = teardown?.Resources ?? 0,
            RemovedRegistrations = teardown?.Registrations ?? 0,
        };
    }

    /// <summary>Runs on the loop thread when it leaves the duty cycle, whatever the reason.</summary>
    /// <remarks>
    /// Order matters: timers first (so none fires into a half-torn-down loop), then resources (they dispose their
    /// registrations and close their sockets, and may cancel timers, which are already gone), then any registration
    /// left behind, then the queued work once no producer can add to it, and the selector last because resources'
    /// registrations talk to it.
    /// </remarks>
    private void Teardown()
    {
        // The duty cycle may also end because the selector failed: make the state and the timestamp say "stopping".
        Interlocked.CompareExchange(ref _stopRequestedAt, Stopwatch.GetTimestamp(), 0);
        Interlocked.CompareExchange(ref _state, StateStopping, StateRunning);
        _tearingDown = true;

        int timers = _timers.CancelAll();

        int resources = 0;
        while (_resources.Count != 0)
        {
            // Snapshot: Abort commonly disowns itself, and may own something else (aborted at once, see Own).
            ILoopResource[] snapshot = [.. _resources];
            _resources.Clear();
            foreach (ILoopResource resource in snapshot)
            {
                resources++;
                AbortSafely(resource);
            }
        }

        int registrations = RemoveAllRegistrations();

        // Producers that passed their state check before the stop are finishing their post; none can start one now.
        SpinWait spinner = default;
        while (Volatile.Read(ref _posters.Value) != 0)
        {
            spinner.SpinOnce(sleep1Threshold: -1);
        }

        int workItems = DiscardQueuedWork();
        // The run queue is drained and unreachable from here on: every producer checks _state inside its _posters
        // window (which we just waited out after the state left Running), so none can enqueue again, and this
        // thread, the only consumer, reads it no more. The next loop may take it.
        RingPool<MpscRing<WorkItem>>.Return(_runQueue);
        _selector.Dispose();

        Volatile.Write(ref _state, StateStopped);
        // Publishing the result is the last write a joining thread depends on; Thread.Join also orders it.
        Volatile.Write(ref _teardown, new TeardownResult(workItems, timers, resources, registrations, Stopwatch.GetTimestamp()));
        Interlocked.Decrement(ref s_liveLoops);
    }

    private sealed record TeardownResult(int WorkItems, int Timers, int Resources, int Registrations, long FinishedAt);
}
