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
        _ => new SpinThenParkIdleStrategy(options.SpinIterations),
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
/// Backs off in three steps: spins a bounded number of idle cycles (polling sockets every few of them), then yields
/// the processor for a few more, then parks until woken. Work arriving soon after the last work is picked up at
/// spinning speed; an idle loop costs no CPU once parked.
/// </summary>
/// <remarks>
/// The yield step matters on an oversubscribed machine: a thread that only spins can hold the core that the producer
/// it is waiting for needs, and then waits a whole scheduler time slice; <see cref="Thread.Yield"/> hands the core over
/// while staying runnable.
/// </remarks>
internal sealed class SpinThenParkIdleStrategy : IdleStrategy
{
    private const int PollEvery = 4;        // epoll_wait(0) costs ~0.5 µs; interleaving keeps the run-queue check tight
    private const int YieldIterations = 32;
    private readonly int _spinIterations;
    private int _idleCycles;

    public SpinThenParkIdleStrategy(int spinIterations) => _spinIterations = Math.Max(0, spinIterations);

    public override void Reset() => _idleCycles = 0;

    public override int Idle(SidecarLoop loop)
    {
        if (_idleCycles < _spinIterations)
        {
            _idleCycles++;
            if (_idleCycles % PollEvery == 0)
            {
                return loop.PollReadiness();
            }

            Thread.SpinWait(1);
            return 0;
        }

        if (_idleCycles < _spinIterations + YieldIterations)
        {
            _idleCycles++;
            Thread.Yield();
            return loop.PollReadiness();
        }

        return loop.Park();
    }
}
