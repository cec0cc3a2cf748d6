using System.Diagnostics;

namespace FastSidecar.Queues;

/// <summary>
/// How a sidecar waits, decided once from its <see cref="WaitStrategy"/>: how long a waiter spins before it parks, and
/// how it spins. The loop's idle back-off (<c>IdleStrategy</c>) and application threads waiting on a queue
/// (<see cref="WaitSignal"/>) both read it, so the two sides of a connection agree.
/// </summary>
/// <remarks>
/// <para>
/// What the policies are for, measured on a 2-core machine against peers that share the cores (perf-results/wait):
/// a waiter that spins on <c>pause</c> holds a core that the peer it waits for needs, and a peer that is woken onto
/// that core waits for the spinner to give up (up to a scheduler slice, 4 ms). A waiter that yields on every
/// iteration (<c>sched_yield</c>) hands the core to any runnable thread at once and takes it back at once when nobody
/// wants it, so it keeps the latency of spinning without starving anyone: every strategy that spins spins that way,
/// on the loop and on the application thread alike (<see cref="WaitStrategy.BusySpin"/> still never parks). Two yielding spinners (the loop and a caller in
/// <c>Receive</c>) beat one spinner and one parked thread by a whole thread wake-up per round trip.
/// </para>
/// <para>
/// Spinning adapts (<see cref="AdaptiveSpin"/>): the budget follows the typical wait (twice it, between a quarter of
/// the spin limit and the limit), so a spin lasts about as long as answers usually take; a wait that outlasts the
/// limit halves the budget, so a waiter whose answers come slowly stops spinning. The budget is wall time, so the time
/// other threads run during our yields counts against it: when there are more runnable threads than cores a yield
/// lasts a scheduler slice, and the waiter parks after the first one instead of competing.
/// </para>
/// <para>Immutable, except the waiters' shared budget, whose updates may race harmlessly (a lost update only delays the adaptation).</para>
/// </remarks>
internal sealed class WaitPolicy
{
    private readonly int _spinIterations; // most spin iterations per wait
    private readonly long _spinTicks;      // most time per wait's spin
    private AdaptiveSpin _waiterBudget;    // shared by every application thread that waits with this policy

    private WaitPolicy(WaitStrategy strategy, int spinIterations, TimeSpan spinDuration)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(spinIterations);
        ArgumentOutOfRangeException.ThrowIfLessThan(spinDuration, TimeSpan.Zero);
        Strategy = strategy;
        _spinIterations = spinIterations;
        _spinTicks = spinDuration == TimeSpan.MaxValue ? long.MaxValue : (long)(spinDuration.TotalSeconds * Stopwatch.Frequency);
        _waiterBudget = new AdaptiveSpin(_spinTicks);
    }

    /// <summary>
    /// The longest spin of the default strategy. Long enough to catch the answer of a peer that hops through a thread
    /// pool or answers over TLS (80–110 µs on a loaded 2-core machine), which a 50 µs spin missed every time; the
    /// adaptive budget keeps the spin near the typical wait, so quicker peers spin no longer than before.
    /// </summary>
    internal static readonly TimeSpan DefaultSpinDuration = TimeSpan.FromMicroseconds(200);

    /// <summary>The policy of queues that no loop owns: the default strategy and spin limit.</summary>
    public static WaitPolicy Default { get; } = For(WaitStrategy.SpinThenPark, DefaultSpinDuration);

    /// <summary>The strategy this policy implements.</summary>
    public WaitStrategy Strategy { get; }

    /// <summary>The longest spin before parking (<see cref="long.MaxValue"/>: spin for as long as the wait lasts).</summary>
    public long SpinTicks => _spinTicks;

    /// <summary>
    /// The policy of <paramref name="strategy"/>: <see cref="WaitStrategy.BusySpin"/> spins for as long as a wait
    /// lasts; <see cref="WaitStrategy.SpinThenPark"/> spins adaptively, yielding, for up to <paramref name="spinDuration"/>;
    /// <see cref="WaitStrategy.Blocking"/> parks at once.
    /// </summary>
    public static WaitPolicy For(WaitStrategy strategy, TimeSpan spinDuration) => strategy switch
    {
        WaitStrategy.BusySpin => new WaitPolicy(strategy, int.MaxValue, TimeSpan.MaxValue),
        WaitStrategy.Blocking => new WaitPolicy(strategy, 0, TimeSpan.Zero),
        _ => new WaitPolicy(WaitStrategy.SpinThenPark, int.MaxValue, spinDuration),
    };

    /// <summary>A policy whose waiters yield <paramref name="iterations"/> times before parking, for queues whose
    /// waits are counted rather than timed (tests that need a waiter to park early).</summary>
    public static WaitPolicy Spins(int iterations) => new(WaitStrategy.SpinThenPark, iterations, TimeSpan.MaxValue);

    /// <summary>
    /// An application thread's spin before it parks: returns true as soon as <paramref name="condition"/> holds,
    /// false when the budget or the <paramref name="deadline"/> runs out.
    /// </summary>
    public bool SpinUntil<TCondition>(TCondition condition, long deadline)
        where TCondition : struct, IWaitCondition
    {
        long budget = Strategy == WaitStrategy.SpinThenPark && _spinIterations == int.MaxValue ? _waiterBudget.Ticks : _spinTicks;
        if (_spinIterations == 0 || budget == 0)
        {
            return false;
        }

        long start = Stopwatch.GetTimestamp();
        long spinEnd = budget >= long.MaxValue - start ? long.MaxValue : start + budget;
        long end = Math.Min(spinEnd, deadline);
        long now = start;
        for (int i = 0; i < _spinIterations && now < end; i++)
        {
            Thread.Yield();
            now = Stopwatch.GetTimestamp();
            if (condition.IsSatisfied)
            {
                return true;
            }
        }

        return condition.IsSatisfied;
    }

    /// <summary>Tells the adaptive budget how a wait of <paramref name="waitedTicks"/> ended (spun or parked).</summary>
    public void LearnWait(long waitedTicks, bool metWhileSpinning)
    {
        if (Strategy == WaitStrategy.SpinThenPark && _spinIterations == int.MaxValue)
        {
            _waiterBudget.Learn(waitedTicks, metWhileSpinning);
        }
    }
}

/// <summary>
/// A spin budget that follows how long waits last, in the manner of adaptive mutexes: twice the typical recent wait,
/// at least a quarter of the limit and at most the limit, so a spin covers the answers that usually come and no more;
/// halved for every wait that outlasted the limit, zero (park at once) below an eighth of it, and back as soon as one
/// wait ends within the limit again.
/// </summary>
/// <remarks>
/// <para>
/// Why follow the typical wait rather than spin for a fixed time: against a peer whose answer takes longer than a
/// fixed spin (a server that hops through its thread pool, TLS on both sides: 80–110 µs on the 2-core machine of
/// perf-results/tls), every wait spun the whole window, then parked and paid a wake-up as well, the worst of both.
/// Waits shorter than a quarter of the limit keep the quarter, so quick peers spin as they did with a fixed window.
/// </para>
/// <para>Reads and writes are single volatile accesses of longs; concurrent updates may overwrite each other, which only delays the adaptation.</para>
/// </remarks>
internal struct AdaptiveSpin
{
    private const int SmoothingShift = 3; // the typical wait moves an eighth of the way towards each new wait
    private readonly long _limit;
    private long _typical; // smoothed length of the recent waits that ended within the limit
    private long _ticks;

    public AdaptiveSpin(long limitTicks)
    {
        _limit = limitTicks;
        _typical = limitTicks == long.MaxValue ? long.MaxValue : limitTicks / 2;
        _ticks = limitTicks;
    }

    /// <summary>The current budget in stopwatch ticks (0: do not spin).</summary>
    public readonly long Ticks => Volatile.Read(in _ticks);

    /// <summary>Updates the budget after a wait of <paramref name="waitedTicks"/> that was or was not met while spinning.</summary>
    public void Learn(long waitedTicks, bool metWhileSpinning)
    {
        if (_limit == long.MaxValue)
        {
            return; // spins for as long as the wait lasts: nothing to learn
        }

        long next;
        if (metWhileSpinning || waitedTicks <= _limit)
        {
            // A wait a spin caught, or could have caught: spin long enough for the ones that usually come.
            long typical = Volatile.Read(ref _typical);
            typical += (Math.Min(waitedTicks, _limit) - typical) >> SmoothingShift;
            Volatile.Write(ref _typical, typical);
            next = Math.Clamp(2 * typical, _limit / 4, _limit);
        }
        else
        {
            // An idle connection or a slow peer: spinning is wasted there.
            next = Volatile.Read(ref _ticks) / 2;
        }

        Volatile.Write(ref _ticks, next < _limit / 8 ? 0 : next);
    }
}
