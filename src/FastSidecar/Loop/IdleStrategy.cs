using System.Diagnostics;

namespace FastSidecar.Loop;

/// <summary>The back-off of the duty cycle <c>while (running) idle(doWork())</c>: what an idle cycle does.</summary>
/// <remarks>
/// Loop thread only. <see cref="Reset"/> is called after every cycle that did work; <see cref="Idle"/> after every
/// cycle that did none. Each strategy is a small state machine over two primitives of the loop:
/// <see cref="SidecarLoop.PollReadiness"/> (epoll_wait with timeout 0, so sockets are never starved while spinning)
/// and <see cref="SidecarLoop.Park"/> (the lost-wake-up-safe blocking wait).
/// </remarks>
internal abstract class IdleStrategy
{
    public static IdleStrategy Create(SidecarLoopOptions options) => options.WaitStrategy switch
    {
        WaitStrategy.Blocking => new BlockingIdleStrategy(),
        WaitStrategy.BusySpin => new BusySpinIdleStrategy(),
        _ => new SpinThenParkIdleStrategy(options.SpinDuration),
    };

    /// <summary>The cycle did work: restart the back-off.</summary>
    public abstract void Reset();

    /// <summary>The cycle did no work: back off one step. Returns the work found meanwhile (readiness events dispatched).</summary>
    public abstract int Idle(SidecarLoop loop);
}

/// <summary>Parks at once. Lowest CPU; every wake-up of an idle loop costs a system call and a thread wake-up.</summary>
internal sealed class BlockingIdleStrategy : IdleStrategy
{
    public override void Reset()
    {
    }

    public override int Idle(SidecarLoop loop) => loop.Park();
}

/// <summary>Never parks: pauses the core briefly and polls sockets every few idle cycles. Lowest latency; one core stays busy.</summary>
/// <remarks>
/// Polling on every idle cycle would put a system call (~1 µs) between two looks at the run queue and double the
/// pick-up latency of posted work; every fourth cycle keeps socket readiness within a few hundred nanoseconds.
/// </remarks>
internal sealed class BusySpinIdleStrategy : IdleStrategy
{
    private const int PollEvery = 4;
    private int _idleCycles;

    public override void Reset() => _idleCycles = 0;

    public override int Idle(SidecarLoop loop)
    {
        if (++_idleCycles % PollEvery == 0)
        {
            return loop.PollReadiness();
        }

        Thread.SpinWait(1); // a pause instruction: no system call, frees pipeline resources for a hyper-thread sibling
        return 0;
    }
}

/// <summary>
/// Backs off in three steps: spins for a bounded time (polling sockets every few iterations), then yields the
/// processor a few times, then parks until woken. Work arriving soon after the last work is picked up at
/// spinning speed; an idle loop costs no CPU once parked.
/// </summary>
/// <remarks>
/// The yield step matters on an oversubscribed machine: a thread that only spins can hold the core that the producer
/// it is waiting for needs, and then waits a whole scheduler time slice; <see cref="Thread.Yield"/> hands the core over
/// while staying runnable.
/// </remarks>
internal sealed class SpinThenParkIdleStrategy : IdleStrategy
{
    private enum Phase
    {
        Spinning,
        Yielding,
        Parking,
    }

    private const int PollEvery = 4;        // epoll_wait(0) costs ~0.5-1 µs here; interleaving keeps the run-queue check tight
    private const int YieldIterations = 4;
    private readonly long _spinTicks;
    private Phase _phase;
    private long _idleSince;                // Stopwatch timestamp of the first idle cycle since the last work
    private int _iterations;                // within the current phase

    public SpinThenParkIdleStrategy(TimeSpan spinDuration) =>
        _spinTicks = Math.Max(0, (long)(spinDuration.TotalSeconds * Stopwatch.Frequency));

    public override void Reset()
    {
        _phase = Phase.Spinning;
        _idleSince = 0;
        _iterations = 0;
    }

    public override int Idle(SidecarLoop loop)
    {
        switch (_phase)
        {
            case Phase.Spinning:
                long now = Stopwatch.GetTimestamp();
                if (_idleSince == 0)
                {
                    _idleSince = now;
                }

                // Bounded by time, not by a count: an iteration that polls the sockets is a system call whose cost
                // varies several-fold between machines (and under a hypervisor), so a count could spin for milliseconds.
                if (now - _idleSince >= _spinTicks)
                {
                    _phase = Phase.Yielding;
                    _iterations = 0;
                    goto case Phase.Yielding;
                }

                if (++_iterations % PollEvery == 0)
                {
                    return loop.PollReadiness();
                }

                Thread.SpinWait(1);
                return 0;

            case Phase.Yielding:
                if (++_iterations > YieldIterations)
                {
                    _phase = Phase.Parking;
                    goto case Phase.Parking;
                }

                Thread.Yield();
                return loop.PollReadiness();

            case Phase.Parking:
            default:
                return loop.Park();
        }
    }
}
