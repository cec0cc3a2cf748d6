using System.Numerics;

namespace FastSidecar.Queues;

/// <summary>
/// A bounded ring for one producer (the loop thread) and any number of consumers (application threads), holding
/// structs without allocation per item.
/// </summary>
/// <remarks>
/// The mirror image of <see cref="MpscRing{T}"/>: every slot carries a sequence number, so a slot is free for the
/// producer at position <c>p</c> when its sequence is <c>p</c> and full for a consumer when it is <c>p + 1</c>.
/// Here the producer owns the tail outright (no atomic read-modify-write on enqueue) and consumers claim positions
/// with one compare-and-swap on the head. A consumer that is descheduled between its claim and its release of the
/// slot makes that one slot look full to the producer until it runs again; the ring is bounded, so the producer
/// sees "full" rather than blocking. Thread-safety: only one thread at a time may call <see cref="TryEnqueue"/>;
/// any number may call <see cref="TryDequeue"/>.
/// </remarks>
internal sealed class SpmcRing<T> : IPoolableRing<SpmcRing<T>>
{
    private struct Slot
    {
        public long Sequence;
        public T Item;
    }

    private readonly Slot[] _slots;
    private readonly long _mask;
    private PaddedLong _tail; // next position the producer fills; written by the producer only
    private PaddedLong _head; // next position a consumer claims; advanced by CAS

    /// <summary>Creates a ring of <paramref name="capacity"/> slots, a power of two of at least 2.</summary>
    public SpmcRing(int capacity)
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
    public static SpmcRing<T> Create(int capacity) => new(capacity);

    /// <summary>The number of slots.</summary>
    public int Capacity => _slots.Length;

    /// <summary>An instantaneous, possibly stale count of items; exact only when no thread is enqueuing or dequeuing.</summary>
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

    /// <summary>True when a consumer would find nothing (a snapshot).</summary>
    public bool IsEmpty => Volatile.Read(ref _head.Value) >= Volatile.Read(ref _tail.Value);

    /// <summary>Adds <paramref name="item"/> unless the ring is full. Only one producer thread at a time.</summary>
    public bool TryEnqueue(in T item)
    {
        long position = _tail.Value;
        ref Slot slot = ref _slots[position & _mask];
        // Acquire: seeing the slot released (sequence == position) orders our write of the item after the
        // consumer's read and clear of the previous lap's item.
        if (Volatile.Read(ref slot.Sequence) != position)
        {
            return false; // a consumer has not yet released the item from one lap ago: full
        }

        slot.Item = item;
        // Release: the item is visible before any consumer can see the slot as full.
        Volatile.Write(ref slot.Sequence, position + 1);
        // Only for Count/IsEmpty; slots are published by their sequence, not by the tail.
        Volatile.Write(ref _tail.Value, position + 1);
        return true;
    }

    /// <summary>Takes the oldest item, if any. Safe from any number of threads.</summary>
    public bool TryDequeue(out T item)
    {
        long position = Volatile.Read(ref _head.Value);
        while (true)
        {
            ref Slot slot = ref _slots[position & _mask];
            // Acquire: seeing the slot full makes the producer's write of the item visible.
            long lag = Volatile.Read(ref slot.Sequence) - (position + 1);
            if (lag == 0)
            {
                long seen = Interlocked.CompareExchange(ref _head.Value, position + 1, position);
                if (seen == position)
                {
                    item = slot.Item;
                    slot.Item = default!; // drop references so the ring never keeps a buffer alive
                    // Release: our read and clear of the item happen before the producer may reuse the slot.
                    Volatile.Write(ref slot.Sequence, position + _slots.Length);
                    return true;
                }

                position = seen; // another consumer won this position; try the one it left us
            }
            else if (lag < 0)
            {
                item = default!;
                return false; // the producer has not filled this position yet: empty
            }
            else
            {
                position = Volatile.Read(ref _head.Value); // we fell a lap behind other consumers
            }
        }
    }
}
