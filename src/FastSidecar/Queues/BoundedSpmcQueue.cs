namespace FastSidecar.Queues;

/// <summary>
/// The loop → application queue: one producer (the loop), any number of consuming application threads that spin
/// briefly and then park while it is empty. The producer never blocks and makes no system call unless a consumer is
/// actually parked.
/// </summary>
/// <remarks>
/// Thread-safety: <see cref="TryEnqueue"/> from one producer thread at a time; <see cref="TryDequeue"/>,
/// <see cref="Dequeue"/> and the properties from any thread; <see cref="Complete"/> from any thread, though only
/// the producer's own call gives an exact end (an enqueue racing a <see cref="Complete"/> from another thread may
/// land, and stays drainable). After completion consumers first get the remaining items, then
/// <see cref="QueueWaitResult.Completed"/>.
/// </remarks>
internal sealed class BoundedSpmcQueue<T>
{
    private readonly SpmcRing<T> _ring;
    private readonly WaitSignal _items; // consumers parked on an empty ring wait here
    private volatile bool _completed;

    /// <summary>Creates a queue of <paramref name="capacity"/> slots (a power of two); waiting consumers spin
    /// <paramref name="spinCount"/> times before parking.</summary>
    public BoundedSpmcQueue(int capacity, int spinCount = WaitSignal.DefaultSpinCount)
    {
        _ring = new SpmcRing<T>(capacity);
        _items = new WaitSignal(spinCount);
    }

    /// <summary>Creates a queue whose consumers spin for up to <paramref name="consumerSpin"/> before they park.</summary>
    public BoundedSpmcQueue(int capacity, TimeSpan consumerSpin)
    {
        _ring = new SpmcRing<T>(capacity);
        _items = new WaitSignal(consumerSpin);
    }

    /// <summary>The number of slots.</summary>
    public int Capacity => _ring.Capacity;

    /// <summary>Items queued right now (a snapshot).</summary>
    public int Count => _ring.Count;

    /// <summary>Consumers parked on an empty queue right now (a snapshot, for diagnostics and tests).</summary>
    public int ParkedConsumers => _items.ParkedCount;

    /// <summary>True once <see cref="Complete"/> has been called.</summary>
    public bool IsCompleted => _completed;

    /// <summary>Adds <paramref name="item"/> if there is room and the queue is not completed, waking one consumer only
    /// if one is parked. Never blocks. One producer thread at a time.</summary>
    public bool TryEnqueue(in T item)
    {
        if (_completed || !_ring.TryEnqueue(item))
        {
            return false;
        }

        // The ring published the item with a release store; Notify fences before reading the parked count.
        _items.Notify();
        return true;
    }

    /// <summary>Takes the oldest item, if any. Never blocks.</summary>
    public bool TryDequeue(out T item) => _ring.TryDequeue(out item);

    /// <summary>
    /// Takes the oldest item, spinning and then parking while the queue is empty, for up to
    /// <paramref name="timeout"/> (<see cref="TimeSpan.Zero"/>: do not wait; <see cref="Timeout.InfiniteTimeSpan"/>:
    /// wait forever). A timeout affects only this wait; the queue is untouched.
    /// </summary>
    public QueueWaitResult Dequeue(out T item, TimeSpan timeout)
    {
        WaitSignal.ValidateTimeout(timeout);
        if (_ring.TryDequeue(out item))
        {
            return QueueWaitResult.Success;
        }

        long deadline = WaitSignal.DeadlineFrom(timeout);
        while (true)
        {
            bool ready = _items.Wait(new ItemsOrCompleted(this), deadline);
            if (_ring.TryDequeue(out item))
            {
                return QueueWaitResult.Success;
            }

            // Acquire on _completed, then one more look: items enqueued before Complete are visible now, so an
            // empty ring here means drained for good.
            if (_completed)
            {
                return _ring.TryDequeue(out item) ? QueueWaitResult.Success : QueueWaitResult.Completed;
            }

            if (!ready)
            {
                return QueueWaitResult.TimedOut;
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

    private readonly struct ItemsOrCompleted(BoundedSpmcQueue<T> queue) : IWaitCondition
    {
        public bool IsSatisfied => !queue._ring.IsEmpty || queue._completed;
    }
}
