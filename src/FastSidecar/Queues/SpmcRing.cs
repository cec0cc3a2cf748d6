namespace FastSidecar.Queues;

/// <summary>
/// A bounded lock-free ring for one producer (the loop thread) and any number of consumers (application threads),
/// holding structs without allocation per item: the loop → application direction.
/// </summary>
/// <remarks>
/// The producer owns the tail outright; consumers claim positions with one compare-and-swap on the head (see
/// <see cref="SequencedRing{T}"/>). Thread-safety: only one thread at a time may call <see cref="TryEnqueue"/>; any
/// number may call <see cref="TryDequeue"/>.
/// </remarks>
internal sealed class SpmcRing<T>(int capacity, int usableSlots, bool rentSlots) : SequencedRing<T>(capacity, usableSlots, rentSlots), IPoolableRing<SpmcRing<T>>
{
    /// <summary>Creates a ring whose every slot takes items.</summary>
    public SpmcRing(int capacity)
        : this(capacity, capacity, rentSlots: false)
    {
    }

    /// <summary>
    /// The ring a growing or shrinking queue moved on to after freezing this one; null while this one is the newest.
    /// Written once (release) by whoever replaces the ring, read (acquire) by consumers that drained this one.
    /// </summary>
    public SpmcRing<T>? Next;

    /// <inheritdoc/>
    public static SpmcRing<T> Create(int capacity) => new(capacity);

    /// <summary>Adds <paramref name="item"/> unless the ring is full. Only one producer thread at a time.</summary>
    public bool TryEnqueue(in T item) => TryEnqueueExclusive(item);

    /// <summary>Adds <paramref name="item"/> unless the ring is full, publishing it with the next chunk or the next
    /// <see cref="SequencedRing{T}.PublishDeferred"/>. Only one producer thread at a time.</summary>
    public bool TryEnqueueDeferred(in T item, out bool published) => TryEnqueueExclusiveDeferred(item, out published);

    /// <summary>Takes the oldest item, if any. Safe from any number of threads.</summary>
    public bool TryDequeue(out T item) => TryDequeueShared(out item);
}
