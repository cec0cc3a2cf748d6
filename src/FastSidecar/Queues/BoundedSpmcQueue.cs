namespace FastSidecar.Queues;

/// <summary>
/// The loop → application queue: one producer (the loop), any number of consuming application threads that spin
/// briefly and then park while it is empty. The producer never blocks and makes no system call unless a consumer is
/// actually parked. Its storage follows the traffic: it starts with a small ring and grows, up to its capacity, only
/// while the loop outruns the application (see the growth part).
/// </summary>
/// <remarks>
/// Thread-safety: <see cref="TryEnqueue"/> from one producer thread at a time; <see cref="TryDequeue"/>,
/// <see cref="Dequeue(out T, TimeSpan)"/> and the properties from any thread; <see cref="Complete"/> from any thread, though only
/// the producer's own call gives an exact end (an enqueue racing a <see cref="Complete"/> from another thread may
/// land, and stays drainable). After completion consumers first get the remaining items, then
/// <see cref="QueueWaitResult.Completed"/>.
/// </remarks>
internal sealed partial class BoundedSpmcQueue<T>
{
    private readonly int _capacity;
    private readonly WaitSignal _items; // consumers parked on an empty ring wait here
    private volatile bool _completed;

    /// <summary>Creates a queue of at most <paramref name="capacity"/> items (a power of two); waiting consumers wait as
    /// <paramref name="waitPolicy"/> says (<see cref="WaitPolicy.Default"/> when null). With <paramref name="pooledRing"/> the first ring comes from
    /// <see cref="RingPool{TRing}"/> and the last may go back there through <see cref="RecycleRing"/>.</summary>
    public BoundedSpmcQueue(int capacity, WaitPolicy? waitPolicy = null, bool pooledRing = false)
    {
        if (capacity < 2 || !System.Numerics.BitOperations.IsPow2(capacity))
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "Capacity must be a power of two of at least 2.");
        }

        _initialSlots = Math.Min(BoundedMpscQueue<T>.InitialSlots, capacity);
        SpmcRing<T> ring = pooledRing ? RingPool<SpmcRing<T>>.Rent(_initialSlots) : new SpmcRing<T>(_initialSlots);
        _head = ring;
        _tail = ring;
        _budget = new SlotBudget(capacity, _initialSlots);
        _capacity = capacity;
        _items = new WaitSignal(waitPolicy ?? WaitPolicy.Default);
    }

    /// <summary>The most items the queue holds at once.</summary>
    public int Capacity => _capacity;

    /// <summary>Consumers parked on an empty queue right now (a snapshot, for diagnostics and tests).</summary>
    public int ParkedConsumers => _items.ParkedCount;

    /// <summary>How many consumer waits have parked so far (after their spin), for diagnostics and benchmarks.</summary>
    public long ConsumerParks => _items.Parks;

    /// <summary>True once <see cref="Complete"/> has been called.</summary>
    public bool IsCompleted => _completed;

    /// <summary>Adds <paramref name="item"/> if there is room and the queue is not completed, waking one consumer only
    /// if one is parked. Never blocks. One producer thread at a time.</summary>
    public bool TryEnqueue(in T item)
    {
        if (_completed || !TryAdd(item))
        {
            return false;
        }

        // The ring published the item with a release store; Notify fences before reading the parked count.
        _items.Notify();
        SampleDepth();
        return true;
    }

    /// <summary>
    /// Adds <paramref name="item"/> like <see cref="TryEnqueue"/>, but visible to consumers only once a chunk of
    /// <see cref="SequencedRing{T}.PublishChunk"/> items is filled or <see cref="Announce"/> is called, which the producer
    /// must do before it stops producing for now. A consumer seen parked by a plain read is woken at each chunk (so it
    /// works while the rest of a burst is produced); one that is parking at this moment is seen only by
    /// <see cref="Announce"/>. A burst of items costs one fenced wake-up check, and a consumer that keeps up with the
    /// producer takes whole chunks instead of contending for each slot's cache line (see <see cref="SpmcRing{T}.TryEnqueueDeferred"/>).
    /// </summary>
    public bool TryEnqueueUnannounced(in T item)
    {
        if (_completed || !TryAddDeferred(item, out bool published))
        {
            return false;
        }

        if (published && _items.HasUnsignalledWaiter)
        {
            _items.Notify();
        }

        return true;
    }

    /// <summary>Publishes the items added by <see cref="TryEnqueueUnannounced"/> and wakes one parked consumer, if any.</summary>
    /// <remarks>Notify fences before it reads the parked count, so a consumer that announced itself before our last
    /// publication is seen here, and one that announces itself later sees the items in its re-check.</remarks>
    public void Announce()
    {
        _tail?.PublishDeferred();
        _items.Notify();
        SampleDepth(); // once per burst: the queue's depth when the producer stops for now
    }

    /// <summary>Takes the oldest item, if any. Never blocks.</summary>
    public bool TryDequeue(out T item) => Head.TryDequeue(out item) || TryDequeueSlow(out item);

    /// <summary>
    /// Takes the oldest item, spinning and then parking while the queue is empty, for up to
    /// <paramref name="timeout"/> (<see cref="TimeSpan.Zero"/>: do not wait; <see cref="Timeout.InfiniteTimeSpan"/>:
    /// wait forever). A timeout affects only this wait; the queue is untouched.
    /// </summary>
    public QueueWaitResult Dequeue(out T item, TimeSpan timeout)
    {
        WaitSignal.ValidateTimeout(timeout);
        if (TryDequeue(out item))
        {
            return QueueWaitResult.Success;
        }

        return WaitToDequeue(out item, new ItemsOrCompleted(this), WaitSignal.DeadlineFrom(timeout), CancellationToken.None);
    }

    /// <summary>
    /// <see cref="Dequeue(out T, TimeSpan)"/> whose wait also ends when <paramref name="cancellationToken"/> is canceled
    /// (<see cref="QueueWaitResult.Canceled"/>, nothing taken). Cancellation ends only this wait.
    /// </summary>
    public QueueWaitResult Dequeue(out T item, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!cancellationToken.CanBeCanceled)
        {
            return Dequeue(out item, timeout);
        }

        WaitSignal.ValidateTimeout(timeout);
        if (cancellationToken.IsCancellationRequested)
        {
            item = default!;
            return QueueWaitResult.Canceled;
        }

        if (TryDequeue(out item))
        {
            return QueueWaitResult.Success;
        }

        long deadline = WaitSignal.DeadlineFrom(timeout);
        using CancellationTokenRegistration registration = CancelableWait.WakeOnCancel(_items, cancellationToken);
        return WaitToDequeue(out item, new CancelableCondition<ItemsOrCompleted>(new ItemsOrCompleted(this), cancellationToken), deadline, cancellationToken);
    }

    private QueueWaitResult WaitToDequeue<TCondition>(out T item, TCondition condition, long deadline, CancellationToken cancellationToken)
        where TCondition : struct, IWaitCondition
    {
        while (true)
        {
            bool ready = _items.Wait(condition, deadline);
            if (TryDequeue(out item))
            {
                return QueueWaitResult.Success;
            }

            // Acquire on _completed, then one more look: items enqueued before Complete are visible now, so an
            // empty ring here means drained for good.
            if (_completed)
            {
                return TryDequeue(out item) ? QueueWaitResult.Success : QueueWaitResult.Completed;
            }

            if (!ready)
            {
                return QueueWaitResult.TimedOut;
            }

            if (cancellationToken.IsCancellationRequested)
            {
                return QueueWaitResult.Canceled;
            }

            // Another consumer took the item we were woken for; wait again against the same deadline.
        }
    }

    /// <summary>Refuses further enqueues and wakes every parked consumer; they drain what is left, then get
    /// <see cref="QueueWaitResult.Completed"/>. Idempotent.</summary>
    public void Complete()
    {
        _completed = true;
        _items.NotifyAll();
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
        SpmcRing<T>? head = _head;
        SpmcRing<T>? tail = _tail;
        if (head is null || tail is null || !_completed || Count != 0)
        {
            return false;
        }

        _head = null;
        _tail = null;
        if (ReferenceEquals(head, tail) && !tail.IsFrozen && tail.Capacity == _initialSlots && tail.UsableSlots == tail.Capacity)
        {
            RingPool<SpmcRing<T>>.Return(tail);
        }
        else if (ReferenceEquals(head, tail) && !tail.IsFrozen)
        {
            tail.Freeze(); // a grown ring: its slot array goes to the shared pool of ring arrays instead
            tail.TryRetireSlots();
        }

        return true;
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static SpmcRing<T> ThrowRecycled() =>
        throw new InvalidOperationException("The queue's ring was recycled: its owner let it go, and nothing may use the queue now.");

    private readonly struct ItemsOrCompleted(BoundedSpmcQueue<T> queue) : IWaitCondition
    {
        public bool IsSatisfied => queue.Count > 0 || queue._completed;
    }
}
