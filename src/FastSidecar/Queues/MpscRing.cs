using System.Diagnostics;
using System.Numerics;

namespace FastSidecar.Queues;

/// <summary>
/// A bounded lock-free ring for many producers and one consumer, holding structs without allocation per item.
/// </summary>
/// <remarks>
/// Each slot carries a sequence number (D. Vyukov's bounded queue): a slot is free for the producer that claims
/// position <c>p</c> when its sequence is <c>p</c>, and full for the consumer when its sequence is <c>p + 1</c>.
/// Producers claim positions with one compare-and-swap on the tail, so the order of items from one producer
/// thread is kept; the single consumer needs no atomic read-modify-write at all. Thread-safety: any number of
/// threads may call <see cref="TryEnqueue"/>; only one thread at a time may call <see cref="TryDequeue"/>.
/// </remarks>
internal sealed class MpscRing<T> : IPoolableRing<MpscRing<T>>
{
    private struct Slot
    {
        public long Sequence;
        public T Item;
    }

    private readonly Slot[] _slots;
    private readonly long _mask;
    private PaddedLong _tail; // next position a producer claims; advanced by CAS
    private PaddedLong _head; // next position the consumer reads; written by the consumer only

    /// <summary>Creates a ring of <paramref name="capacity"/> slots, a power of two.</summary>
    public MpscRing(int capacity)
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

    /// <inheritdoc/>
    public static MpscRing<T> Create(int capacity) => new(capacity);

    /// <summary>The number of slots.</summary>
    public int Capacity => _slots.Length;

    /// <summary>An instantaneous, possibly stale count of items; exact only when no thread is enqueuing or dequeuing.</summary>
    public int Count
    {
        get
        {
            long count = Volatile.Read(ref _tail.Value) - Volatile.Read(ref _head.Value);
            return (int)Math.Clamp(count, 0, _slots.Length);
        }
    }

    /// <summary>True when the consumer would find nothing (a snapshot).</summary>
    public bool IsEmpty => Volatile.Read(ref _tail.Value) == Volatile.Read(ref _head.Value);

    /// <summary>Adds <paramref name="item"/> unless the ring is full. Safe from any thread.</summary>
    public bool TryEnqueue(in T item)
    {
        long position = Volatile.Read(ref _tail.Value);
        while (true)
        {
            ref Slot slot = ref _slots[position & _mask];
            long sequence = Volatile.Read(ref slot.Sequence);
            long lag = sequence - position;
            if (lag == 0)
            {
                long seen = Interlocked.CompareExchange(ref _tail.Value, position + 1, position);
                if (seen == position)
                {
                    slot.Item = item;
                    // Release: the item is visible before the consumer can see the slot as full.
                    Volatile.Write(ref slot.Sequence, position + 1);
                    return true;
                }

                position = seen;
            }
            else if (lag < 0)
            {
                return false; // the slot still holds an item from one lap ago: full
            }
            else
            {
                position = Volatile.Read(ref _tail.Value); // another producer took this position
            }
        }
    }

    /// <summary>Takes the oldest item, if any. Only one consumer thread at a time.</summary>
    public bool TryDequeue(out T item)
    {
        long position = _head.Value;
        ref Slot slot = ref _slots[position & _mask];
        // Acquire: reading the sequence as full makes the producer's write of the item visible.
        if (Volatile.Read(ref slot.Sequence) != position + 1)
        {
            item = default!;
            return false;
        }

        item = slot.Item;
        slot.Item = default!; // drop references so the ring never keeps a buffer or delegate alive
        Volatile.Write(ref slot.Sequence, position + _slots.Length);
        Volatile.Write(ref _head.Value, position + 1);
        Debug.Assert(_head.Value <= Volatile.Read(ref _tail.Value));
        return true;
    }
}
