namespace FastSidecar.Queues;

/// <summary>
/// The application → loop queue: any number of sending threads, one consumer (the loop). Producers that find it
/// full may block until the loop frees a slot; the loop never blocks. Its storage follows the traffic: it starts
/// with a small ring and grows, up to its capacity, only while producers outrun the consumer (see the growth part).
/// </summary>
/// <remarks>
/// Thread-safety: <see cref="TryEnqueue"/>, <see cref="Enqueue(in T, TimeSpan)"/> and <see cref="Complete"/> from any thread;
/// <see cref="TryDequeue"/> from one consumer thread at a time. Items from one producer thread keep their order.
/// The consumer is not woken from here: the loop has its own wake-up (see <c>SidecarLoop.Wake</c>), which the
/// caller rings after a successful enqueue. Completion is a flag checked before each enqueue, not a lock, so an
/// enqueue racing <see cref="Complete"/> from another thread may still land; <see cref="TryDequeue"/> drains it.
/// </remarks>
internal sealed partial class BoundedMpscQueue<T>
{
    private readonly int _capacity;
    private readonly WaitSignal _space; // producers parked on a full ring wait here
    private volatile bool _completed;

    /// <summary>Creates a queue of at most <paramref name="capacity"/> items (a power of two); blocked producers wait as
    /// <paramref name="waitPolicy"/> says (<see cref="WaitPolicy.Default"/> when null). With <paramref name="pooledRing"/> the first ring comes from
    /// <see cref="RingPool{TRing}"/> and the last may go back there through <see cref="RecycleRing"/>.</summary>
    public BoundedMpscQueue(int capacity, WaitPolicy? waitPolicy = null, bool pooledRing = false)
    {
        if (capacity < 2 || !System.Numerics.BitOperations.IsPow2(capacity))
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "Capacity must be a power of two of at least 2.");
        }

        _initialSlots = Math.Min(InitialSlots, capacity);
        MpscRing<T> ring = pooledRing ? RingPool<MpscRing<T>>.Rent(_initialSlots) : new MpscRing<T>(_initialSlots);
        _head = ring;
        _tail = ring;
        _headAtLastEmpty = ring.HeadPosition;
        _budget = new SlotBudget(capacity, _initialSlots);
        _capacity = capacity;
        _space = new WaitSignal(waitPolicy ?? WaitPolicy.Default);
    }

    /// <summary>The most items the queue holds at once.</summary>
    public int Capacity => _capacity;

    /// <summary>Producers parked on a full queue right now (a snapshot, for diagnostics and tests).</summary>
    public int ParkedProducers => _space.ParkedCount;

    /// <summary>True once <see cref="Complete"/> has been called.</summary>
    public bool IsCompleted => _completed;

    /// <summary>Adds <paramref name="item"/> if there is room and the queue is not completed. Never blocks.</summary>
    public bool TryEnqueue(in T item) => !_completed && TryAdd(item);

    /// <summary>
    /// Adds <paramref name="item"/>, blocking while the queue is full for up to <paramref name="timeout"/>
    /// (<see cref="TimeSpan.Zero"/>: do not wait; <see cref="Timeout.InfiniteTimeSpan"/>: wait forever).
    /// </summary>
    public QueueWaitResult Enqueue(in T item, TimeSpan timeout)
    {
        WaitSignal.ValidateTimeout(timeout);
        if (_completed)
        {
            return QueueWaitResult.Completed;
        }

        if (TryAdd(item))
        {
            return QueueWaitResult.Success;
        }

        return WaitToEnqueue(item, new SpaceOrCompleted(this), WaitSignal.DeadlineFrom(timeout), CancellationToken.None);
    }

    /// <summary>
    /// <see cref="Enqueue(in T, TimeSpan)"/> whose wait also ends when <paramref name="cancellationToken"/> is canceled
    /// (<see cref="QueueWaitResult.Canceled"/>, the item not added). Cancellation ends only this wait.
    /// </summary>
    public QueueWaitResult Enqueue(in T item, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!cancellationToken.CanBeCanceled)
        {
            return Enqueue(item, timeout);
        }

        WaitSignal.ValidateTimeout(timeout);
        if (cancellationToken.IsCancellationRequested)
        {
            return QueueWaitResult.Canceled;
        }

        if (_completed)
        {
            return QueueWaitResult.Completed;
        }

        if (TryAdd(item))
        {
            return QueueWaitResult.Success;
        }

        long deadline = WaitSignal.DeadlineFrom(timeout);
        using CancellationTokenRegistration registration = CancelableWait.WakeOnCancel(_space, cancellationToken);
        return WaitToEnqueue(item, new CancelableCondition<SpaceOrCompleted>(new SpaceOrCompleted(this), cancellationToken), deadline, cancellationToken);
    }

    private QueueWaitResult WaitToEnqueue<TCondition>(in T item, TCondition condition, long deadline, CancellationToken cancellationToken)
        where TCondition : struct, IWaitCondition
    {
        while (true)
        {
            bool ready = _space.Wait(condition, deadline);
            if (_completed)
            {
                return QueueWaitResult.Completed;
            }

            // Try even when the wait timed out: the slot may have freed at the deadline.
            if (TryAdd(item))
            {
                return QueueWaitResult.Success;
            }

            if (!ready)
            {
                return QueueWaitResult.TimedOut;
            }

            if (cancellationToken.IsCancellationRequested)
            {
                return QueueWaitResult.Canceled;
            }

            // Another producer took the slot we were woken for; wait again against the same deadline.
        }
    }

    /// <summary>Takes the oldest item, if any, and wakes one blocked producer only if one is parked.
    /// One consumer thread at a time.</summary>
    public bool TryDequeue(out T item)
    {
        if (!Head.TryDequeue(out item) && !TryDequeueSlow(out item))
        {
            return false;
        }

        // The ring released the slot with a release store; Notify fences before reading the parked count.
        _space.Notify();
        return true;
    }

    /// <summary>Refuses further enqueues and wakes every blocked producer (they return
    /// <see cref="QueueWaitResult.Completed"/>). Items already queued stay for <see cref="TryDequeue"/>. Idempotent.</summary>
    public void Complete()
    {
        _completed = true;
        _space.NotifyAll();
    }

    /// <summary>
    /// Gives a drained queue's ring back to <see cref="RingPool{TRing}"/> for the next queue (when it is still the small
    /// first-size ring; a grown one gives its slot array to the pool of ring arrays); false (and the ring stays) when the queue is not empty or
    /// not completed.
    /// </summary>
    /// <remarks>
    /// The caller must prove that no thread is inside, or can still enter, any member of this queue other than
    /// <see cref="Count"/> and <see cref="Capacity"/> (which read 0 and the capacity afterwards): the consumer is gone for
    /// good and every other caller announces itself before it checks the owner's state. Not thread-safe by design.
    /// </remarks>
    public bool RecycleRing()
    {
        MpscRing<T>? head = _head;
        MpscRing<T>? tail = _tail;
        if (head is null || tail is null || !_completed || Count != 0)
        {
            return false;
        }

        _head = null;
        _tail = null;
        if (ReferenceEquals(head, tail) && !tail.IsFrozen && tail.Capacity == _initialSlots && tail.UsableSlots == tail.Capacity)
        {
            RingPool<MpscRing<T>>.Return(tail);
        }
        else if (ReferenceEquals(head, tail) && !tail.IsFrozen)
        {
            tail.Freeze(); // a grown ring: its slot array goes to the shared pool of ring arrays instead
            tail.TryRetireSlots();
        }

        return true;
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static MpscRing<T> ThrowRecycled() =>
        throw new InvalidOperationException("The queue's ring was recycled: its owner let it go, and nothing may use the queue now.");

    private readonly struct SpaceOrCompleted(BoundedMpscQueue<T> queue) : IWaitCondition
    {
        public bool IsSatisfied => queue._completed || queue.HasRoom;
    }
}
