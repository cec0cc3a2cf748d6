namespace FastSidecar.Queues;

/// <summary>
/// A bounded lock-free ring for many producers and one consumer, holding structs without allocation per item: the
/// application → loop direction and the loop's run queue.
/// </summary>
/// <remarks>
/// Producers claim positions with one compare-and-swap on the tail, so the order of items from one producer thread
/// is kept; the single consumer needs no atomic read-modify-write at all (see <see cref="SequencedRing{T}"/>).
/// Thread-safety: any number of threads may call <see cref="TryEnqueue"/>; only one thread at a time may call
/// <see cref="TryDequeue"/>.
/// </remarks>
internal sealed class MpscRing<T>(int capacity, int usableSlots, bool rentSlots) : SequencedRing<T>(capacity, usableSlots, rentSlots), IPoolableRing<MpscRing<T>>
{
    /// <summary>Creates a ring whose every slot takes items.</summary>
    public MpscRing(int capacity)
        : this(capacity, capacity, rentSlots: false)
    {
    }

    /// <summary>
    /// The ring a growing or shrinking queue moved on to after freezing this one; null while this one is the newest.
    /// Written once (release) by whoever replaces the ring, read (acquire) by consumers that drained this one.
    /// </summary>
    public MpscRing<T>? Next;

    /// <inheritdoc/>
    public static MpscRing<T> Create(int capacity) => new(capacity);

    /// <summary>Adds <paramref name="item"/> unless the ring is full. Safe from any thread.</summary>
    public bool TryEnqueue(in T item) => TryEnqueueShared(item);

    /// <summary>Takes the oldest item, if any. Only one consumer thread at a time.</summary>
    public bool TryDequeue(out T item) => TryDequeueExclusive(out item);
}
