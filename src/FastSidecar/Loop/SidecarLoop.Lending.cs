using FastSidecar.Loop;

namespace FastSidecar;

/// <summary>Lending a parked loop's state to the thread that has work for it, so that the work needs no wake-up.</summary>
/// <remarks>
/// <para>
/// Why: with <see cref="WaitStrategy.Blocking"/> a request and its answer cost three thread wake-ups: the loop, woken
/// through the eventfd to write the frame; the loop again, woken by epoll for the answer; the application thread
/// waiting in <c>Receive</c>. <c>ClientWebSocket</c> writes on the calling thread and pays only the last two. A thread
/// that finds the loop parked may instead take the loop's state for a moment (a baton) and run the work itself, here
/// and now, while the loop thread stays blocked in the selector: the first wake-up goes away.
/// </para>
/// <para>
/// Single-threaded ownership holds because the baton is the <see cref="_parked"/> word: 0, the loop thread runs
/// (owns the state); 1, it is parked in the selector and owns nothing it touches until it takes the word back;
/// <see cref="ParkedLent"/>, parked, and one other thread holds the state. Only the 1 → <see cref="ParkedLent"/>
/// compare-and-swap lends it, so there is one borrower at a time, and only while the loop is parked. The loop thread,
/// leaving the selector (or backing out of a park), takes the word back from 1 (or finds the 0 a producer left) and
/// waits while it reads <see cref="ParkedLent"/>; the borrower's release is an interlocked exchange and the loop's
/// take-back a compare-and-swap, so everything the borrower wrote happens before the loop reads it. A parked loop
/// touches none of its state except what it computed before announcing the park (the timeout, the events array
/// that epoll fills), and the borrower touches neither.
/// </para>
/// <para>
/// Lost wake-ups. A producer that posts while the state is lent reads <see cref="ParkedLent"/>, not 1, and does not
/// signal; so does <see cref="RequestStop"/>. The borrower's release is a full fence followed by a re-check of the
/// run queue and the state, the same Dekker pair as <see cref="Park"/>'s: either the producer's read sees the word
/// back at 1 and signals, or the borrower's re-check sees the work (or the stop) and wakes the loop itself. Work the
/// borrower posted (to the loop-local queue) and a timer it armed to fall due before the parked loop's timeout are
/// checked before the release, while the borrower still owns them, and wake the loop too: the loop waits with the
/// timeout it computed before parking, so an earlier timer would otherwise be slept through.
/// </para>
/// <para>
/// What runs on a borrowing thread is the library's own short work, never the application's posted callbacks
/// (those need the loop thread's execution context): today one session's outbound drain, writing queued frames
/// into the socket. While it runs, <see cref="IsOnLoopThread"/> is true on the borrowing thread (so posts from it go
/// to the loop-local queue and loop-thread assertions hold) and the loop's synchronization context is installed, so
/// an <c>await</c> inside it resumes on the loop thread. A shared loop serves its other connections unchanged: their
/// readiness events wait in the kernel until the loop thread takes the word back, a few microseconds later.
/// Timers fire only on the loop thread, never on a borrower. <c>Exit</c>'s close handshake is posted work, so it never
/// overlaps a borrower's drain; <see cref="Stop"/> cannot tear down under a borrower either: the teardown runs on the
/// loop thread after it has left the duty cycle, hence after it has taken the word back.
/// </para>
/// </remarks>
public sealed partial class SidecarLoop
{
    private const int ParkedLent = 2; // _parked: parked, and the loop's state is lent to another thread

    [ThreadStatic]
    private static SidecarLoop? t_borrowed; // the loop whose state this thread holds, while it holds it

    private long _parkDeadline; // the next timer's due time when the loop parked (written before announcing the park)
    private long _lentRuns;     // written by the holder of the state only; read by tests and diagnostics

    /// <summary>True when application threads may run work on this loop's parked state: <see cref="WaitStrategy.Blocking"/> over epoll only.</summary>
    /// <remarks>
    /// <para>
    /// Epoll only: a borrower that finds the socket full adds write interest with <c>epoll_ctl</c>, which the kernel
    /// applies to a wait already in progress. The portable selector builds its lists before <c>Socket.Select</c>, so
    /// a change made during the wait would be missed (and its dictionary is not safe against a concurrent writer).
    /// </para>
    /// <para>
    /// A <see cref="WaitStrategy.SpinThenPark"/> loop parks only after its spin stopped paying, and a lent drain moves
    /// the frame's system calls onto the application thread, which the seed's use (CPU work beside the connection)
    /// pays for in wall time; the measurements on this machine could not tell the two apart, so the default keeps
    /// its loop doing the writes (perf-results/wait/README.md).
    /// </para>
    /// </remarks>
    internal bool LendsWhenParked => WaitPolicy.Strategy == WaitStrategy.Blocking && _selector is EpollSelector;

    /// <summary>How many times a parked loop's state was lent to another thread to run work without a wake-up.</summary>
    internal long LentRuns => Volatile.Read(ref _lentRuns);

    /// <summary>
    /// Runs <paramref name="callback"/>(<paramref name="state"/>) on the calling thread, as the loop's owner, if the loop
    /// is parked and running; false, and nothing ran, otherwise (the caller posts instead). Any thread.
    /// </summary>
    /// <remarks>For the library's own short loop work only; see the remarks on lending. Exceptions are handled as the loop handles a callback's.</remarks>
    internal bool TryRunWhileParked(Action<object?> callback, object? state)
    {
        if (_selector is not EpollSelector || Volatile.Read(ref _parked) != 1 || Interlocked.CompareExchange(ref _parked, ParkedLent, 1) != 1)
        {
            // Awake (or lent already): the ordinary post finds it awake or is picked up by the holder's release.
            // The portable selector never lends (see LendsWhenParked).
            return false;
        }

        // Acquire (the compare-and-swap): the loop's writes before its park, _parkDeadline among them, are visible.
        bool ran = false;
        if (Volatile.Read(ref _state) == StateRunning)
        {
            SynchronizationContext? previous = SynchronizationContext.Current;
            t_borrowed = this;
            SynchronizationContext.SetSynchronizationContext(_syncContext);
            try
            {
                RunSafely(new WorkItem(callback, state));
            }
            finally
            {
                SynchronizationContext.SetSynchronizationContext(previous);
                t_borrowed = null;
            }

            Volatile.Write(ref _lentRuns, _lentRuns + 1);
            ran = true;
        }

        ReturnLentState();
        return ran;
    }

    /// <summary>True on a thread that holds this loop's state on loan.</summary>
    private bool IsBorrowedHere => ReferenceEquals(t_borrowed, this);

    private void ReturnLentState()
    {
        // Still the owner: what it left for the loop (local posts, an earlier timer) is read before the release.
        bool wake = _loopOverflow.Count != 0 || _timers.NextDue < _parkDeadline;
        // Full fence, then the re-check of what producers may have posted while their wake-up was suppressed.
        Interlocked.Exchange(ref _parked, 1);
        if (wake || !_runQueue.IsEmpty || Volatile.Read(ref _sharedOverflowCount) != 0 || Volatile.Read(ref _state) != StateRunning)
        {
            Wake();
        }
    }

    /// <summary>Loop thread, leaving a park: takes its state back, waiting while a borrower holds it.</summary>
    private void TakeBackParkedState()
    {
        // 1 → 0; a 0 means a producer flipped it (and signalled); ParkedLent means a borrower is running: its work is
        // one short drain, so wait for it without parking.
        if (Interlocked.CompareExchange(ref _parked, 0, 1) != ParkedLent)
        {
            return;
        }

        SpinWait spinner = default;
        while (Interlocked.CompareExchange(ref _parked, 0, 1) == ParkedLent)
        {
            spinner.SpinOnce(sleep1Threshold: -1);
        }
    }
}
