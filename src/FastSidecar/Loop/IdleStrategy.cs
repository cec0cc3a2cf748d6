using System.Diagnostics;
using FastSidecar.Queues;

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
    /// <summary>The loop's side of <paramref name="policy"/>.</summary>
    public static IdleStrategy Create(WaitPolicy policy) => policy.Strategy switch
    {
        WaitStrategy.Blocking => new BlockingIdleStrategy(),
        WaitStrategy.BusySpin => new BusySpinIdleStrategy(),
        _ => new SpinThenParkIdleStrategy(policy.SpinTicks),
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

/// <summary>Never parks: alternately polls the sockets without waiting and yields the core. Lowest latency; one core stays busy
/// whenever nobody else wants it.</summary>
/// <remarks>
/// Yielding rather than pausing (see <see cref="SpinThenParkIdleStrategy"/>): with pause instructions, a peer or an
/// application thread woken onto the loop's core waited for the scheduler to preempt the loop, a whole time slice.
/// </remarks>
internal sealed class BusySpinIdleStrategy : IdleStrategy
{
    private int _idleCycles;

    public override void Reset() => _idleCycles = 0;

    public override int Idle(SidecarLoop loop)
    {
        if ((++_idleCycles & 1) == 0)
        {
            return loop.PollReadiness();
        }

        Thread.Yield();
        return 0;
    }
}

/// <summary>
/// Spins for as long as spinning has lately paid (an <see cref="AdaptiveSpin"/> budget, at most the policy's spin
/// duration), then parks until woken. Each spin iteration either polls the sockets without waiting or yields the core.
/// </summary>
/// <remarks>
/// Why yield rather than pause: on a machine with few cores the thread this loop waits for (the peer answering our
/// frame, the application thread that will post the next message) may have been woken onto this very core. A
/// <c>pause</c> loop keeps it waiting until the spin ends or the scheduler preempts us (a time slice, 4 ms); a
/// <c>sched_yield</c> lets it run at once and costs about a microsecond when nobody is waiting, about what a poll of
/// the sockets costs anyway. The budget is wall time, so the time other threads run during our yields counts against it.
/// </remarks>
internal sealed class SpinThenParkIdleStrategy : IdleStrategy
{
    private AdaptiveSpin _budget;
    private long _idleSince; // Stopwatch timestamp of the first idle cycle since the last work; 0 while working
    private bool _parked;    // parked at least once since _idleSince: the spin did not pay
    private int _iterations;

    public SpinThenParkIdleStrategy(long spinTicks) => _budget = new AdaptiveSpin(spinTicks);

    public override void Reset()
    {
        if (_idleSince != 0)
        {
            _budget.Learn(Stopwatch.GetTimestamp() - _idleSince, metWhileSpinning: !_parked);
            _idleSince = 0;
            _parked = false;
        }
    }

    public override int Idle(SidecarLoop loop)
    {
        long now = Stopwatch.GetTimestamp();
        if (_idleSince == 0)
        {
            _idleSince = now;
        }

        if (!_parked && now - _idleSince < _budget.Ticks)
        {
            if ((++_iterations & 1) == 0)
            {
                return loop.PollReadiness();
            }

            Thread.Yield();
            return 0;
        }

        _parked = true;
        return loop.Park();
    }
}
