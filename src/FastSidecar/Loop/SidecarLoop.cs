using System.Diagnostics;
using FastSidecar.Queues;
using FastSidecar.Loop;
using FastSidecar.Loop.Interop;

namespace FastSidecar;

/// <summary>
/// A single-threaded event loop on its own dedicated thread: it runs posted work, fires its timers and waits for
/// socket readiness itself (epoll on Linux), without ever depending on the .NET thread pool for progress.
/// </summary>
/// <remarks>
/// <para>
/// Thread-safety: <see cref="Post(Action)"/>, <see cref="Invoke{T}"/>, <see cref="Stop"/>, <see cref="Dispose"/> and the
/// properties are safe from any thread. Everything else (timers, sockets, owned resources) belongs to the loop
/// thread and must be called from it, typically from a posted callback; DEBUG builds assert this.
/// </para>
/// <para>
/// The loop is a duty cycle, <c>while (running) idle(doWork())</c>: each cycle runs a bounded batch of posted work,
/// fires due timers and, if the previous cycle did work, polls sockets without waiting.
/// A cycle that did nothing backs off according to the <see cref="WaitStrategy"/>. The loop installs a
/// <see cref="SynchronizationContext"/> on its thread, so an <c>await</c> in loop code resumes on the loop thread.
/// </para>
/// <para>
/// The constructor starts the thread. The thread is a background thread, so a loop that is never stopped does not
/// keep the process alive; <see cref="Stop"/> still joins it. Stopping cancels timers, aborts owned resources, counts
/// and discards work that never ran, and closes the epoll and eventfd descriptors, all on the loop thread.
/// </para>
/// </remarks>
public sealed partial class SidecarLoop : IDisposable
{
    private const int StateRunning = 0;
    private const int StateStopping = 1; // stop requested: the loop thread leaves the duty cycle after the current callback
    private const int StateStopped = 2;  // teardown finished

    private static int s_liveLoops;

    // Immutable after construction.
    private readonly Thread _thread;
    private readonly int _threadId;
    private readonly ReadinessSelector _selector;
    private readonly IdleStrategy _idle;
    private readonly LoopSynchronizationContext _syncContext;
    private readonly int _batchSize;
    private readonly Action<Exception>? _exceptionHandler;
    private readonly int? _affinity;
    private readonly string _name;

    // Loop thread only.
    private readonly ReadyEvent[] _events;
    private readonly TimerQueue _timers = new();
    private readonly HashSet<ILoopResource> _resources = new(ReferenceEqualityComparer.Instance);
    private bool _pollSocketsNext;        // the last cycle did work, so this one polls sockets (timeout 0) itself
    private bool _tearingDown;

    // Shared between producers and the loop thread; each access documents its ordering.
    private int _state;           // StateRunning → StateStopping (CAS, first Stop wins) → StateStopped (loop thread)
    private int _parked;          // 1 while the loop is (about to be) blocked in the selector, 2 while its state is lent; see Park()
    private long _callbackFaults; // Interlocked
    private long _parks;          // written by the loop thread only (Volatile), read by tests and diagnostics
    private long _wakeSignals;    // Interlocked, slow path only: producers that flipped _parked and signalled the selector
    private bool _pinned;         // written once by the loop thread before its first cycle (Volatile)
    private long _stopRequestedAt; // Stopwatch timestamp of the first stop request (CAS from 0)
    private TeardownResult? _teardown; // published by the loop thread (Volatile.Write) when teardown is done

    /// <summary>Creates a loop and starts its thread.</summary>
    /// <param name="options">Settings; <c>null</c> for the defaults.</param>
    public SidecarLoop(SidecarLoopOptions? options = null)
    {
        options ??= new SidecarLoopOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.RunQueueBatchSize, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxReadinessEvents, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegative(options.ProcessorAffinity ?? 0, nameof(options));
        _affinity = options.ProcessorAffinity;
        _runQueue = RingPool<MpscRing<WorkItem>>.Rent(options.RunQueueCapacity);
        _batchSize = options.RunQueueBatchSize;
        _exceptionHandler = options.CallbackExceptionHandler;
        WaitPolicy = WaitPolicy.For(options.WaitStrategy, options.SpinDuration);
        _idle = IdleStrategy.Create(WaitPolicy);
        _events = new ReadyEvent[options.MaxReadinessEvents];
        _syncContext = new LoopSynchronizationContext(this);
        _selector = ReadinessSelector.Create(options.ForcePortableSelector, options.MaxReadinessEvents);
        try
        {
            // Named by the thread itself (ThreadMain): a name given before the start is written to procfs by this
            // thread while it waits for the new one to run, three system calls more on every connect's path.
            _name = options.Name;
            _thread = new Thread(ThreadMain) { IsBackground = true };
            _threadId = _thread.ManagedThreadId;
            Interlocked.Increment(ref s_liveLoops);
            // UnsafeStart: the loop must not inherit the creating thread's ExecutionContext (AsyncLocals, culture flow).
            _thread.UnsafeStart();
        }
        catch
        {
            _selector.Dispose();
            throw;
        }
    }

    /// <summary>Loops whose thread has not finished its teardown, process-wide. For leak tests and diagnostics.</summary>
    public static int LiveLoops => Volatile.Read(ref s_liveLoops);

    /// <summary>True when called on this loop's thread.</summary>
    /// <remarks>Also true on a thread that holds the parked loop's state on loan (see <c>TryRunWhileParked</c>).</remarks>
    public bool IsOnLoopThread => Environment.CurrentManagedThreadId == _threadId || IsBorrowedHere;

    /// <summary>True once the loop thread has pinned itself to <see cref="SidecarLoopOptions.ProcessorAffinity"/>
    /// (settled before the loop runs its first work item).</summary>
    public bool IsPinned => Volatile.Read(ref _pinned);

    /// <summary>True until a stop has been requested.</summary>
    public bool IsRunning => Volatile.Read(ref _state) == StateRunning;

    /// <summary>Exceptions thrown by callbacks and caught by the loop (see <see cref="SidecarLoopOptions.CallbackExceptionHandler"/>).</summary>
    public long CallbackFaults => Interlocked.Read(ref _callbackFaults);

    /// <summary>How this loop waits when idle; application threads waiting on this loop's queues follow it too.</summary>
    internal WaitPolicy WaitPolicy { get; }

    /// <summary>True when readiness comes from epoll, false for the portable <c>Socket.Select</c> selector.</summary>
    internal bool UsesEpoll => _selector is EpollSelector;

    /// <summary>How many times the loop has announced a park (and then blocked in the selector, or backed out because work arrived).</summary>
    internal long Parks => Volatile.Read(ref _parks);

    /// <summary>How many wake-ups made a system call (an eventfd write); posts to an awake loop make none.</summary>
    internal long WakeSignals => Interlocked.Read(ref _wakeSignals);

    /// <summary>True while the loop is blocked in the selector, or about to be.</summary>
    internal bool IsParked => Volatile.Read(ref _parked) != 0;

    /// <summary>The loop thread's managed id.</summary>
    internal int ThreadId => _threadId;

    /// <summary>True until the loop thread has exited.</summary>
    internal bool IsThreadAlive => _thread.IsAlive;

    /// <summary>The loop's clock: a <see cref="Stopwatch"/> timestamp.</summary>
    internal static long Now => Stopwatch.GetTimestamp();

    /// <summary>Makes the loop tear <paramref name="resource"/> down (<see cref="ILoopResource.Abort"/>) if it stops first. Loop thread only.</summary>
    /// <remarks>Owning a resource while the teardown is running aborts it at once.</remarks>
    internal void Own(ILoopResource resource)
    {
        AssertOnLoopThread();
        ArgumentNullException.ThrowIfNull(resource);
        if (_tearingDown)
        {
            AbortSafely(resource);
            return;
        }

        _resources.Add(resource);
    }

    /// <summary>Stops owning <paramref name="resource"/> (it was closed in an orderly way). Loop thread only.</summary>
    internal bool Disown(ILoopResource resource)
    {
        AssertOnLoopThread();
        return _resources.Remove(resource);
    }

    /// <summary>Fails (DEBUG builds only) when called from any thread but the loop's.</summary>
    [Conditional("DEBUG")]
    internal void AssertOnLoopThread() =>
        Debug.Assert(IsOnLoopThread, "This member belongs to the loop thread; post to the loop instead.");

    private void ThreadMain()
    {
        Thread.CurrentThread.Name = _name; // before any work: tests and censuses find loop threads by this name
        if (_affinity is int processor)
        {
            Volatile.Write(ref _pinned, LinuxAffinity.TryPinCurrentThread(processor));
        }

        SynchronizationContext.SetSynchronizationContext(_syncContext);
        try
        {
            RunDutyCycle();
        }
        catch (Exception e)
        {
            // Only the selector can throw here (callbacks are caught one by one): the loop cannot continue.
            ReportFault(e);
        }
        finally
        {
            Teardown();
            SynchronizationContext.SetSynchronizationContext(null);
        }
    }

    private void RunDutyCycle()
    {
        while (Volatile.Read(ref _state) == StateRunning)
        {
            int work = DoWork();
            _pollSocketsNext = work > 0;
            if (work > 0)
            {
                _idle.Reset();
            }
            else if (_idle.Idle(this) > 0)
            {
                _idle.Reset();
                _pollSocketsNext = true;
            }
        }
    }

    private int DoWork()
    {
        int work = DrainRunQueue();
        work += FireDueTimers();
        if (_pollSocketsNext)
        {
            // A busy loop never reaches the idle strategy, which is where sockets are normally polled; without
            // this a flood of posted work would starve the sockets.
            work += PollReadiness();
        }

        return work;
    }

    /// <summary>Polls sockets without waiting and dispatches what is ready. Loop thread.</summary>
    internal int PollReadiness()
    {
        AssertOnLoopThread();
        int count = _selector.Wait(0, _events);
        return count == 0 ? 0 : DispatchReadiness(count);
    }

    /// <summary>Blocks in the selector until a socket is ready, the next timer is due or a producer wakes the loop. Loop thread.</summary>
    /// <remarks>
    /// Lost-wake-up reasoning. A producer publishes work, then reads <see cref="_parked"/>; the loop writes
    /// <see cref="_parked"/> = 1, then re-checks for work. Both sides separate their write from their read with a
    /// full fence (the producer: the ring's compare-and-swap on its tail, or the Interlocked increment of the overflow
    /// count; the loop: the Interlocked.Exchange below), so they cannot both read the old value: either the loop's
    /// re-check sees the work (and does not block), or the producer sees 1, flips it to 0 with a compare-and-swap and
    /// writes the eventfd. The eventfd stays readable until the loop reads it, so a write that lands before
    /// epoll_wait starts still ends the wait at once. Only the producer that wins the 1→0 flip writes, so a burst of
    /// posts to a parked loop makes one system call, and a loop that is awake costs producers one read.
    /// The re-check includes the state, so that a <see cref="Stop"/> is never slept through.
    /// </remarks>
    internal int Park()
    {
        AssertOnLoopThread();
        // The timeout is computed before the announcement: from then on the state may be lent (SidecarLoop.Lending.cs).
        int timeout = MillisecondsUntilNextTimer();
        _parkDeadline = _timers.NextDue;
        Interlocked.Exchange(ref _parked, 1);
        // Counted at the announcement, not at the wait: a producer may flip the word and signal between here and a
        // back-out below, and each signal must correspond to one announced park (the eventfd is drained by the next wait).
        Volatile.Write(ref _parks, _parks + 1);
        if (HasQueuedWork() || Volatile.Read(ref _state) != StateRunning)
        {
            TakeBackParkedState();
            return 1;
        }

        int count = _selector.Wait(timeout, _events);
        // A producer that flipped the word already wrote the eventfd (drained by the next wait); one that reads 0 from
        // now on skips the system call, which is right because the loop is awake. A borrower is waited for.
        TakeBackParkedState();
        return count == 0 ? 0 : DispatchReadiness(count);
    }

    /// <summary>Wakes the loop if it is parked. Any thread. Costs one read when the loop is awake.</summary>
    internal void Wake()
    {
        if (Volatile.Read(ref _parked) == 1 && Interlocked.CompareExchange(ref _parked, 0, 1) == 1)
        {
            Interlocked.Increment(ref _wakeSignals);
            _selector.Signal();
        }
    }

    private void ReportFault(Exception exception)
    {
        Interlocked.Increment(ref _callbackFaults);
        if (_exceptionHandler is not null)
        {
            try
            {
                _exceptionHandler(exception);
            }
            catch (Exception)
            {
                // The handler's own failure must not take the loop down.
            }
        }
    }

    private void AbortSafely(ILoopResource resource)
    {
        try
        {
            resource.Abort();
        }
        catch (Exception e)
        {
            ReportFault(e);
        }
    }
}
