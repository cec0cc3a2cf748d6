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
internal abstract class SequencedRing<T>
{
    private struct Slot
    {
        public long Sequence;
        public T Item;
    }

    private readonly Slot[] _slots;
    private readonly long _mask;
    private PaddedLong _tail; // next position to fill
    private PaddedLong _head; // next position to take

    /// <summary>Creates a ring of <paramref name="capacity"/> slots, a power of two of at least 2.</summary>
    protected SequencedRing(int capacity)
    {
        if (capacity < 2 || !BitOperations.IsPow2(capacity))
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "Capacity must be a power of two of at least 2.");
        }

        _slots = new Slot[capacity];
        _mask = capacity - 1;
        for (int i = 0; i < capacity; i++)
        {
            _slots[i].Sequence = i;
        }
    }

    /// <summary>The number of slots.</summary>
    public int Capacity => _slots.Length;

    /// <summary>An instantaneous, possibly stale count of items; exact only when no thread is filling or taking.</summary>
    public int Count
    {
        get
        {
            // Head first: a head read after the tail could pass it and give a negative count.
            long head = Volatile.Read(ref _head.Value);
            long count = Volatile.Read(ref _tail.Value) - head;
            return (int)Math.Clamp(count, 0, _slots.Length);
        }
    }

    /// <summary>True when a taker would find nothing (a snapshot).</summary>
    public bool IsEmpty => Volatile.Read(ref _head.Value) >= Volatile.Read(ref _tail.Value);

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
        long position = _tail.Value;
        ref Slot slot = ref _slots[position & _mask];
        if (Volatile.Read(ref slot.Sequence) != position)
        {
            return false; // a taker has not yet released the item from one lap ago: full
        }

        slot.Item = item;
        Volatile.Write(ref slot.Sequence, position + 1);
        // Only for Count/IsEmpty; slots are published by their sequence, not by the tail.
        Volatile.Write(ref _tail.Value, position + 1);
        return true;
    }

    /// <summary>Takes the oldest item, if any; any number of threads at once.</summary>
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
