using System.Diagnostics;
using System.Numerics;

namespace FastSidecar.Queues;

/// <summary>
/// The one ring core behind every bounded lock-free ring here: D. Vyukov's bounded queue, where each slot carries a
/// sequence number. A slot is free for whoever claims position <c>p</c> to fill when its sequence is <c>p</c>, and
/// full for whoever claims <c>p</c> to take when its sequence is <c>p + 1</c>.
/// </summary>
/// <remarks>
/// <para>
/// Each side comes in two forms. <em>Shared</em>: any number of threads claim positions with one compare-and-swap
/// on the index. <em>Exclusive</em>: one thread at a time owns the index outright and needs no atomic
/// read-modify-write. A derived ring picks one form per side and exposes only those, so its thread-safety contract
/// is in its type: <see cref="MpscRing{T}"/> (shared producers, exclusive consumer), <see cref="SpmcRing{T}"/>
/// (exclusive producer, shared consumers), and the pool's free list (shared on both sides).
/// </para>
/// <para>
/// Memory ordering, the same in every form: the filler writes the item, then the slot's sequence (release); the
/// taker reads the sequence (acquire), then the item, clears it (so the ring never keeps a buffer or delegate
/// alive), then releases the slot one lap ahead. A thread descheduled between its claim and its release makes that
/// one slot look full (or empty) to the other side until it runs again: the ring is bounded, so the other side
/// sees "full" or "empty" rather than blocking.
/// </para>
/// </remarks>
internal abstract partial class SequencedRing<T>
{
    private struct Slot
    {
        public long Sequence;
        public T Item;
    }

    // Added to the tail to freeze a ring (see Freeze): far above any position a ring reaches, so a frozen tail is
    // recognisable by its size alone, and every filler's sequence check fails against it.
    private const long FreezeOffset = 1L << 62;

    /// <summary>The most items a deferring producer fills before it publishes them (see <see cref="TryEnqueueExclusiveDeferred"/>).</summary>
    internal const int PublishChunk = 32;

    private readonly Slot[] _slots;
    private readonly long _mask;
    private PaddedLong _tail; // next position published to takers; plus FreezeOffset once frozen
    private PaddedLong _fill; // exclusive producer only: next position to fill; ahead of _tail by the items not yet published
    private PaddedLong _head; // next position to take
    private int _usableSlots; // slots not blocked (see the constructor); Interlocked, read by the owning queue's accounting

    /// <summary>Creates a ring of <paramref name="capacity"/> slots, a power of two of at least 2.</summary>
    protected SequencedRing(int capacity)
        : this(capacity, capacity)
    {
    }

    /// <summary>
    /// Creates a ring of <paramref name="capacity"/> slots of which only the first <paramref name="usableSlots"/> take
    /// items until <see cref="ReleaseBlockedSlots"/> opens more: a growing queue allocates a ring at its next size
    /// while an older ring still holds items, and the blocked slots keep the two together within the queue's bound.
    /// </summary>
    protected SequencedRing(int capacity, int usableSlots)
        : this(capacity, usableSlots, rentSlots: false)
    {
    }

    /// <summary>
    /// As <see cref="SequencedRing{T}(int, int)"/>; with <paramref name="rentSlots"/> the slot array comes from the
    /// shared pool of retired rings' arrays (see <see cref="TryRetireSlots"/>), so a queue that grows again after
    /// warm-up allocates only this small ring object.
    /// </summary>
    protected SequencedRing(int capacity, int usableSlots, bool rentSlots)
    {
        if (capacity < 2 || !BitOperations.IsPow2(capacity))
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "Capacity must be a power of two of at least 2.");
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(usableSlots);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(usableSlots, capacity);
        _slots = rentSlots ? SlotArrays.Rent(capacity) : new Slot[capacity];
        _mask = capacity - 1;
        _usableSlots = usableSlots;
        for (int i = 0; i < capacity; i++)
        {
            // A blocked slot carries the sequence of a slot still full from the lap before position 0: fillers find
            // the ring full there, takers find it empty.
            _slots[i].Sequence = i < usableSlots ? i : i - capacity;
        }
    }

    /// <summary>The number of slots.</summary>
    public int Capacity => _slots.Length;

    /// <summary>Slots that take items: <see cref="Capacity"/> unless some are still blocked.</summary>
    public int UsableSlots => Volatile.Read(ref _usableSlots);

    /// <summary>An instantaneous, possibly stale count of items; exact only when no thread is filling or taking.</summary>
    public int Count
    {
        get
        {
            // Head first: a head read after the tail could pass it and give a negative count.
            long head = Volatile.Read(ref _head.Value);
            long count = Unfrozen(Volatile.Read(ref _tail.Value)) - head;
            return (int)Math.Clamp(count, 0, _slots.Length);
        }
    }

    /// <summary>True when a taker would find nothing (a snapshot).</summary>
    public bool IsEmpty => Volatile.Read(ref _head.Value) >= Unfrozen(Volatile.Read(ref _tail.Value));

    /// <summary>True once <see cref="Freeze"/> has run (and no <see cref="Unfreeze"/> since).</summary>
    public bool IsFrozen => Volatile.Read(ref _tail.Value) >= FreezeOffset;

    /// <summary>
    /// True when the ring is frozen and every position claimed before the freeze has been taken: nothing will ever be
    /// taken from it again. A filler that claimed a position before the freeze and has not yet written its item keeps
    /// this false until the item is written and taken.
    /// </summary>
    public bool IsDrainedAfterFreeze
    {
        get
        {
            long tail = Volatile.Read(ref _tail.Value);
            return tail >= FreezeOffset && Volatile.Read(ref _head.Value) >= tail - FreezeOffset;
        }
    }

    /// <summary>The next position to take (a snapshot); a consumer measures how much it took between two looks.</summary>
    public long HeadPosition => Volatile.Read(ref _head.Value);

    /// <summary>
    /// Closes the ring to fillers for good (or until <see cref="Unfreeze"/>): the tail jumps by a fixed offset in one
    /// atomic add, so every claim after the add fails its sequence check (the ring looks full) and every claim racing it
    /// fails its compare-and-swap. Positions claimed before the add stay valid and are taken as usual.
    /// </summary>
    /// <remarks>The owner serializes freezing and unfreezing (a lock, or its single producer).</remarks>
    public void Freeze()
    {
        Debug.Assert(!IsFrozen);
        Interlocked.Add(ref _tail.Value, FreezeOffset);
    }

    /// <summary>
    /// Reopens a frozen ring. Safe only while no filler claimed anything since the freeze (none could) and the ring is
    /// still the one fillers are directed to: a filler that read the tail before the freeze then finds exactly the
    /// state it read, as if the freeze had never happened.
    /// </summary>
    public void Unfreeze()
    {
        Debug.Assert(IsFrozen);
        Interlocked.Add(ref _tail.Value, -FreezeOffset);
    }

    /// <summary>
    /// Opens up to <paramref name="count"/> blocked slots (lowest first); returns how many it opened. Safe while
    /// fillers run: a blocked slot lies beyond every position a filler could have claimed, so publishing its first-lap
    /// sequence is all it takes. One thread at a time.
    /// </summary>
    public int ReleaseBlockedSlots(int count)
    {
        int usable = Volatile.Read(ref _usableSlots);
        int opened = Math.Min(count, _slots.Length - usable);
        for (int i = usable; i < usable + opened; i++)
        {
            Volatile.Write(ref _slots[i].Sequence, i);
        }

        Interlocked.Add(ref _usableSlots, opened);
        return opened;
    }

    /// <summary>Takes this ring's slots out of its owner's account, once: the first caller gets them, later callers 0.</summary>
    public int TakeSlotsForAccounting() => Interlocked.Exchange(ref _usableSlots, 0);

    private static long Unfrozen(long tail) => tail >= FreezeOffset ? tail - FreezeOffset : tail;

    /// <summary>Fills the next position unless the ring is full; any number of threads at once.</summary>
    protected bool TryEnqueueShared(in T item)
    {
        long position = Volatile.Read(ref _tail.Value);
        while (true)
        {
            ref Slot slot = ref _slots[position & _mask];
            long lag = Volatile.Read(ref slot.Sequence) - position;
            if (lag == 0)
            {
                long seen = Interlocked.CompareExchange(ref _tail.Value, position + 1, position);
                if (seen == position)
                {
                    slot.Item = item;
                    Volatile.Write(ref slot.Sequence, position + 1);
                    return true;
                }

                position = seen; // another filler won this position; try the next one
            }
            else if (lag < 0)
            {
                return false; // the slot still holds an item from one lap ago: full
            }
            else
            {
                position = Volatile.Read(ref _tail.Value); // we fell a lap behind other fillers
            }
        }
    }

    /// <summary>Fills the next position unless the ring is full; one thread at a time.</summary>
    protected bool TryEnqueueExclusive(in T item)
    {
        if (!TryEnqueueExclusiveDeferred(item, out _))
        {
            return false;
        }

        PublishDeferred();
        return true;
    }

    /// <summary>
    /// Fills the next slot without publishing it unless <see cref="PublishChunk"/> items are waiting (then all are
    /// published and <paramref name="published"/> is true). One producer thread at a time; it must call
    /// <see cref="PublishDeferred"/> before it stops producing for now, and before freezing the ring.
    /// </summary>
    /// <remarks>
    /// Why defer: a taker that keeps up with the producer on another core reads each slot just as it is written and
    /// clears it just before the producer writes the next slot on the same cache line, so every item moves lines back
    /// and forth between the cores (measured: the loop's cost per 64 B message doubled). Published a chunk at a
    /// time, the taker trails by at least a chunk and each line crosses once.
    /// </remarks>
    protected bool TryEnqueueExclusiveDeferred(in T item, out bool published)
    {
        long position = _fill.Value;
        ref Slot slot = ref _slots[position & _mask];
        if (Volatile.Read(ref slot.Sequence) != position)
        {
            published = false;
            return false; // a taker has not yet released the item from one lap ago: full
        }

        slot.Item = item;
        _fill.Value = position + 1;
        published = position + 1 - _tail.Value >= PublishChunk;
        if (published)
        {
            PublishDeferred();
        }

        return true;
    }

    /// <summary>Makes every filled slot visible to takers, oldest first. Exclusive producer only; cheap when nothing waits.</summary>
    public void PublishDeferred()
    {
        long tail = _tail.Value;
        long fill = _fill.Value;
        if (fill <= tail)
        {
            return; // nothing waiting (a frozen tail is far above any fill position)
        }

        for (long position = tail; position < fill; position++)
        {
            Volatile.Write(ref _slots[position & _mask].Sequence, position + 1);
        }

        // Only for Count/IsEmpty; slots are published by their sequence, not by the tail.
        Volatile.Write(ref _tail.Value, fill);
    }

    protected bool TryDequeueShared(out T item)
    {
        long position = Volatile.Read(ref _head.Value);
        while (true)
        {
            ref Slot slot = ref _slots[position & _mask];
            long lag = Volatile.Read(ref slot.Sequence) - (position + 1);
            if (lag == 0)
            {
                long seen = Interlocked.CompareExchange(ref _head.Value, position + 1, position);
                if (seen == position)
                {
                    item = slot.Item;
                    slot.Item = default!;
                    Volatile.Write(ref slot.Sequence, position + _slots.Length);
                    return true;
                }

                position = seen; // another taker won this position; try the one it left us
            }
            else if (lag < 0)
            {
                item = default!;
                return false; // nothing filled at this position yet: empty
            }
            else
            {
                position = Volatile.Read(ref _head.Value); // we fell a lap behind other takers
            }
        }
    }

    /// <summary>Takes the oldest item, if any; one thread at a time.</summary>
    protected bool TryDequeueExclusive(out T item)
    {
        long position = _head.Value;
        ref Slot slot = ref _slots[position & _mask];
        if (Volatile.Read(ref slot.Sequence) != position + 1)
        {
            item = default!;
            return false;
        }

        item = slot.Item;
        slot.Item = default!;
        Volatile.Write(ref slot.Sequence, position + _slots.Length);
        Volatile.Write(ref _head.Value, position + 1);
        Debug.Assert(_head.Value <= Volatile.Read(ref _tail.Value));
        return true;
    }
}
