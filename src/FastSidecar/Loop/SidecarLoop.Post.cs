using System.Diagnostics.CodeAnalysis;
using FastSidecar.Queues;
using FastSidecar.Loop;

namespace FastSidecar;

/// <summary>The run queue: posting work from any thread, and draining it on the loop thread.</summary>
/// <remarks>
/// Posts go to a lock-free <see cref="MpscRing{T}"/>. When the ring is full nothing is dropped and the loop thread is
/// never blocked: a post made on the loop thread itself goes to a loop-local queue (the loop cannot wait for itself
/// to make room); a post from another thread spins briefly for room (the loop is draining) and then falls back to a
/// lock-protected overflow queue. Order per posting thread is kept: while an overflow queue holds items, that queue's
/// posters keep using it, and the overflow queues are drained only after the ring was found empty.
/// Posts are rejected once a stop has been requested: <see cref="Post(Action)"/> throws
/// <see cref="ObjectDisposedException"/>, <see cref="TryPost"/> returns false. Work accepted before that is either
/// run or counted in <see cref="LoopStopReport.CancelledWorkItems"/>, never lost silently: producers announce themselves
/// in <see cref="_posters"/> before they check the state, and the teardown waits for that count to reach zero (after
/// publishing the state) before its final count of the queues.
/// </remarks>
public sealed partial class SidecarLoop
{
    private const int OverflowSpins = 64;

    private readonly MpscRing<WorkItem> _runQueue;

    /// <summary>Slots of the lock-free run queue (posts beyond it overflow to a locked queue).</summary>
    internal int RunQueueCapacity => _runQueue.Capacity;
    private readonly Queue<WorkItem> _loopOverflow = new();   // loop thread only
    private readonly Queue<WorkItem> _sharedOverflow = new(); // guarded by lock (_sharedOverflow)
    private int _sharedOverflowCount; // Interlocked increments (a full fence before reading _parked); read without the lock
    // Producers between their state check and the end of their post. Written by every post, so it sits alone on its
    // cache line: sharing one with _state or _parked would make each post evict the words the loop reads every cycle.
    private PaddedLong _posters;

    /// <summary>Queues <paramref name="action"/> to run on the loop thread. Any thread, including the loop thread.</summary>
    /// <param name="action">The work. Exceptions it throws are caught by the loop (see <see cref="SidecarLoopOptions.CallbackExceptionHandler"/>).</param>
    /// <exception cref="ObjectDisposedException">A stop has been requested.</exception>
    public void Post(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        if (!TryPost(new WorkItem(action)))
        {
            ThrowStopped();
        }
    }

    /// <summary>Queues <paramref name="callback"/>(<paramref name="state"/>) without allocating. Any thread.</summary>
    /// <exception cref="ObjectDisposedException">A stop has been requested.</exception>
    internal void Post(Action<object?> callback, object? state)
    {
        ArgumentNullException.ThrowIfNull(callback);
        if (!TryPost(new WorkItem(callback, state)))
        {
            ThrowStopped();
        }
    }

    /// <summary>Queues <paramref name="item"/>; false (nothing queued) once a stop has been requested. Any thread.</summary>
    internal bool TryPost(in WorkItem item)
    {
        if (IsOnLoopThread)
        {
            return TryPostFromLoop(item);
        }

        // Full fence: pairs with the teardown's state write then read of _posters (see the class remarks).
        Interlocked.Increment(ref _posters.Value);
        try
        {
            if (Volatile.Read(ref _state) != StateRunning)
            {
                return false;
            }

            if (Volatile.Read(ref _sharedOverflowCount) != 0 || !_runQueue.TryEnqueue(item))
            {
                PostSlow(item);
            }

            Wake();
            return true;
        }
        finally
        {
            Interlocked.Decrement(ref _posters.Value);
        }
    }

    private bool TryPostFromLoop(in WorkItem item)
    {
        if (Volatile.Read(ref _state) != StateRunning)
        {
            return false;
        }

        // No wake-up: the loop is awake (it is running this code).
        if (_loopOverflow.Count != 0 || !_runQueue.TryEnqueue(item))
        {
            _loopOverflow.Enqueue(item);
        }

        return true;
    }

    private void PostSlow(in WorkItem item)
    {
        if (Volatile.Read(ref _sharedOverflowCount) == 0)
        {
            // The ring is full. Make sure the loop is draining, then give it a moment before taking the lock.
            Wake();
            SpinWait spinner = default;
            for (int i = 0; i < OverflowSpins; i++)
            {
                spinner.SpinOnce(sleep1Threshold: -1);
                if (Volatile.Read(ref _sharedOverflowCount) != 0 || Volatile.Read(ref _state) != StateRunning)
                {
                    break;
                }

                if (_runQueue.TryEnqueue(item))
                {
                    return;
                }
            }
        }

        lock (_sharedOverflow)
        {
            _sharedOverflow.Enqueue(item);
            Interlocked.Increment(ref _sharedOverflowCount);
        }
    }

    private bool HasQueuedWork() =>
        !_runQueue.IsEmpty || _loopOverflow.Count != 0 || Volatile.Read(ref _sharedOverflowCount) != 0;

    /// <summary>Runs up to one batch of posted work. Loop thread.</summary>
    private int DrainRunQueue()
    {
        int ran = 0;
        while (ran < _batchSize && _runQueue.TryDequeue(out WorkItem item))
        {
            ran++;
            RunSafely(item);
            if (Volatile.Read(ref _state) != StateRunning)
            {
                return ran; // Stop was called from inside a callback: leave after the current one
            }
        }

        if (ran == _batchSize)
        {
            return ran;
        }

        // The ring was seen empty, so every item posted before an overflowed one has run.
        while (ran < _batchSize && _loopOverflow.TryDequeue(out WorkItem item))
        {
            ran++;
            RunSafely(item);
            if (Volatile.Read(ref _state) != StateRunning)
            {
                return ran;
            }
        }

        while (ran < _batchSize && Volatile.Read(ref _sharedOverflowCount) != 0)
        {
            WorkItem item;
            lock (_sharedOverflow)
            {
                item = _sharedOverflow.Dequeue();
                // Decrement under the lock so a producer that reads 0 finds the queue empty; this item runs before
                // the loop looks at the ring again, so the producer's next post (to the ring) runs after it.
                Interlocked.Decrement(ref _sharedOverflowCount);
            }

            ran++;
            RunSafely(item);
            if (Volatile.Read(ref _state) != StateRunning)
            {
                return ran;
            }
        }

        return ran;
    }

    private void RunSafely(in WorkItem item)
    {
        try
        {
            item.Run();
        }
        catch (Exception e)
        {
            ReportFault(e);
        }
    }

    /// <summary>Teardown: counts (and releases) work that will never run. Loop thread, after producers have left.</summary>
    private int DiscardQueuedWork()
    {
        int count = 0;
        while (_runQueue.TryDequeue(out WorkItem item))
        {
            count++;
            NotifyNotRun(item);
        }

        while (_loopOverflow.TryDequeue(out WorkItem item))
        {
            count++;
            NotifyNotRun(item);
        }

        lock (_sharedOverflow)
        {
            while (_sharedOverflow.TryDequeue(out WorkItem item))
            {
                count++;
                Interlocked.Decrement(ref _sharedOverflowCount);
                NotifyNotRun(item);
            }
        }

        return count;
    }

    private void NotifyNotRun(in WorkItem item)
    {
        if (item.State is IUnrunWorkState unrun)
        {
            try
            {
                unrun.OnNotRun();
            }
            catch (Exception e)
            {
                ReportFault(e);
            }
        }
    }

    [DoesNotReturn]
    private static void ThrowStopped() =>
        throw new ObjectDisposedException(nameof(SidecarLoop), "The loop is stopping or stopped; it accepts no more work.");
}
