using System.Diagnostics;

namespace FastSidecar.Queues;

/// <summary>A condition a <see cref="WaitSignal"/> waiter waits for; a struct so the check inlines into the spin.</summary>
internal interface IWaitCondition
{
    /// <summary>Reads the shared state with acquire semantics and says whether the waiter can go on.</summary>
    bool IsSatisfied { get; }
}

/// <summary>
/// Park/wake for threads waiting on a lock-free queue: waiters spin as their <see cref="WaitPolicy"/> says, then block; a
/// notifier pays a fence and one volatile read when nobody is blocked, and a lock and a pulse only when somebody is.
/// </summary>
/// <remarks>
/// <para>
/// Why <see cref="Monitor"/> and not an event or a semaphore: the waiter must hold something from the moment it
/// announces itself until it is blocked, or a notification that lands between its last re-check and its block is
/// lost. <see cref="Monitor.Wait(object, int)"/> releases the lock and enqueues the waiter atomically, which closes
/// that window; <see cref="Monitor.Pulse"/> wakes exactly one waiter (one item frees one slot or feeds one consumer,
/// so no thundering herd) and <see cref="Monitor.PulseAll"/> serves completion. A <see cref="ManualResetEventSlim"/>
/// wakes everyone and needs a racy reset; a <see cref="SemaphoreSlim"/> keeps permits released to waiters that
/// timed out meanwhile, and spins again inside after we have already spun. A monitor owns no kernel handle, so a
/// queue that is never disposed leaks nothing (the reinitialisation goal counts file descriptors).
/// </para>
/// <para>
/// Lost wake-up argument (a Dekker pair). The notifier stores its publication (an item, a freed slot, the
/// completed flag), executes a full fence, then loads <see cref="_unsignalled"/>. The waiter, holding <see cref="_gate"/>,
/// increments <see cref="_unsignalled"/> with an interlocked instruction (a full fence), then loads the shared state
/// through <see cref="IWaitCondition.IsSatisfied"/>. A fence on each side between its store and its load forbids
/// the outcome in which both loads miss the other's store; so either the waiter's re-check sees the publication and
/// it does not block, or the notifier sees <c>_unsignalled != 0</c> and takes <see cref="_gate"/>, which it can only get
/// once the waiter is inside <see cref="Monitor.Wait(object, int)"/> (or has left it): the pulse cannot fall
/// into the gap. A release store alone is not enough on the notifier side: x86 lets a later load overtake an
/// earlier store (the store buffer), which is exactly the forbidden outcome, hence the fence in
/// <see cref="Notify"/>. A waiter that is woken, times out or is pulsed while timing out always re-checks the
/// condition under the lock before it reports a timeout, so a pulse delivered to it is never wasted on an item.
/// </para>
/// <para>
/// A notifier takes the lock only for waiters not yet pulsed (<see cref="_unsignalled"/>); once it pulses, it moves
/// one count to <see cref="_signalled"/>, so the notifications that follow during the tens of microseconds a woken
/// thread needs to run cost a fence and a read again. The argument above still holds, because a waiter that goes
/// back to waiting first moves a count back to <see cref="_unsignalled"/> with an interlocked increment, before its
/// re-check.
/// </para>
/// <para>
/// Thread-safety: every member is safe from any thread. Spurious returns do not happen (a waiter returns true only
/// when it saw the condition true), but the condition may be false again by the time the caller acts, so callers
/// loop.
/// </para>
/// </remarks>
internal sealed class WaitSignal
{
    private readonly object _gate = new(); // monitor that waiters block on; held from announcing to blocking
    private readonly WaitPolicy _policy;   // how long and how waiters spin before they park
    // Waiters between announcing (under _gate) and leaving are counted exactly once, in one of two places:
    private int _unsignalled; // ...here while no pulse has been sent on their behalf; read lock-free by notifiers
    private int _signalled;   // ...here once a notifier pulsed for them (written under _gate only)
    private long _parks;      // waits that blocked (written under _gate only): for diagnostics and benchmarks

    /// <summary>Creates a signal whose waiters spin as <paramref name="policy"/> says before they park.</summary>
    public WaitSignal(WaitPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        _policy = policy;
    }

    /// <summary>The policy waiters follow.</summary>
    public WaitPolicy Policy => _policy;

    /// <summary>The number of threads parked (or about to park, or just woken) right now; a snapshot.</summary>
    public int ParkedCount => Volatile.Read(ref _unsignalled) + Volatile.Read(ref _signalled);

    /// <summary>How many waits have gone past the spin and parked so far, all waiters together.</summary>
    public long Parks => Volatile.Read(ref _parks);

    /// <summary>
    /// True when a waiter has parked and no pulse was sent for it yet, read without a fence: a cheap early look for a
    /// producer that defers <see cref="Notify"/>; only <see cref="Notify"/>'s fence makes the check exact.
    /// </summary>
    public bool HasUnsignalledWaiter => Volatile.Read(ref _unsignalled) != 0;

    /// <summary>
    /// Turns a timeout into an absolute <see cref="Stopwatch"/> deadline, computed once per call so that re-waits after
    /// a lost race do not extend it. <see cref="TimeSpan.Zero"/> gives a deadline already passed (no wait);
    /// <see cref="Timeout.InfiniteTimeSpan"/> gives <see cref="long.MaxValue"/> (forever).
    /// </summary>
    public static long DeadlineFrom(TimeSpan timeout)
    {
        ValidateTimeout(timeout);
        if (timeout == Timeout.InfiniteTimeSpan)
        {
            return long.MaxValue;
        }

        long now = Stopwatch.GetTimestamp();
        // Saturate rather than overflow: a timeout of years is as good as forever.
        double ticks = timeout.Ticks * ((double)Stopwatch.Frequency / TimeSpan.TicksPerSecond);
        return ticks >= long.MaxValue - now ? long.MaxValue : now + (long)Math.Ceiling(ticks);
    }

    /// <summary>Throws unless <paramref name="timeout"/> is non-negative or <see cref="Timeout.InfiniteTimeSpan"/>;
    /// blocking calls check up front so that a bad argument fails whether or not the call would have waited.</summary>
    public static void ValidateTimeout(TimeSpan timeout, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(timeout))] string? name = null)
    {
        if (timeout < TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(name, timeout, "The timeout must be non-negative or Timeout.InfiniteTimeSpan.");
        }
    }

    /// <summary>
    /// Waits until <paramref name="condition"/> holds or <paramref name="deadline"/> (a <see cref="Stopwatch"/>
    /// timestamp, see <see cref="DeadlineFrom"/>) passes. Returns true when the condition was seen true.
    /// </summary>
    public bool Wait<TCondition>(TCondition condition, long deadline)
        where TCondition : struct, IWaitCondition
    {
        if (condition.IsSatisfied)
        {
            return true;
        }

        if (deadline != long.MaxValue && Stopwatch.GetTimestamp() >= deadline)
        {
            return false;
        }

        long start = Stopwatch.GetTimestamp();
        if (_policy.SpinUntil(condition, deadline))
        {
            _policy.LearnWait(Stopwatch.GetTimestamp() - start, metWhileSpinning: true);
            return true;
        }

        bool met = Park(condition, deadline);
        _policy.LearnWait(Stopwatch.GetTimestamp() - start, metWhileSpinning: false);
        return met;
    }

    /// <summary>
    /// Wakes one parked waiter, if any. Call after publishing the change the waiter waits for; costs a full fence and
    /// a volatile read when nobody is parked (no lock, no system call).
    /// </summary>
    public void Notify()
    {
        // StoreLoad: the caller's publication must be globally visible before we read _unsignalled (see remarks).
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _unsignalled) != 0)
        {
            WakeOne();
        }
    }

    /// <summary>Wakes every parked waiter (completion). Not for the hot path: always takes the lock.</summary>
    public void NotifyAll()
    {
        // Taking the lock is itself a full fence, and it waits out any waiter between announcing and blocking.
        lock (_gate)
        {
            Monitor.PulseAll(_gate);
        }
    }

    private void WakeOne()
    {
        lock (_gate)
        {
            // Moving the waiter's count to _signalled keeps further notifiers off the lock until a woken waiter has
            // run: a consumer that frees slot after slot while one producer is waking takes the lock once, not per slot.
            if (_unsignalled > 0)
            {
                Interlocked.Decrement(ref _unsignalled);
                _signalled++;
                Monitor.Pulse(_gate);
            }
        }
    }

    private bool Park<TCondition>(TCondition condition, long deadline)
        where TCondition : struct, IWaitCondition
    {
        lock (_gate)
        {
            // Full fence: the announcement is visible before the re-check below reads the shared state.
            Interlocked.Increment(ref _unsignalled);
            _parks++;
            try
            {
                while (true)
                {
                    if (condition.IsSatisfied)
                    {
                        return true;
                    }

                    int milliseconds = RemainingMilliseconds(deadline);
                    if (milliseconds == 0)
                    {
                        return false;
                    }

                    // Whether pulsed, timed out or both, loop to re-check before reporting anything.
                    Monitor.Wait(_gate, milliseconds);

                    // Which waiter a pulse was for is unknowable (a timed-out waiter may reacquire first), and it does
                    // not matter: every waker re-checks. What matters is that nobody waits again while counted as
                    // signalled, or notifiers would skip it; so a woken waiter turns one signalled count back into an
                    // unsignalled one (a full fence again, before the re-check) whenever any is left.
                    if (_signalled > 0)
                    {
                        _signalled--;
                        Interlocked.Increment(ref _unsignalled);
                    }
                }
            }
            finally
            {
                // Leave with exactly one count, whichever kind is available: the totals stay equal to the waiters.
                if (_signalled > 0)
                {
                    _signalled--;
                }
                else
                {
                    Interlocked.Decrement(ref _unsignalled);
                }
            }
        }
    }

    private static int RemainingMilliseconds(long deadline)
    {
        if (deadline == long.MaxValue)
        {
            return Timeout.Infinite;
        }

        long remaining = deadline - Stopwatch.GetTimestamp();
        if (remaining <= 0)
        {
            return 0;
        }

        // Round up so that a wake-up by timeout never comes before the deadline; the loop re-waits if it does.
        double milliseconds = Math.Ceiling(remaining * 1000.0 / Stopwatch.Frequency);
        return milliseconds >= int.MaxValue ? int.MaxValue - 1 : Math.Max(1, (int)milliseconds);
    }
}
