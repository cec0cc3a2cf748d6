using System.Numerics;
using FastSidecar.Queues;

namespace FastSidecar.Buffers;

/// <summary>
/// A bounded lock-free ring of free arrays of one size, for any number of threads on both sides: the free list of
/// one <see cref="SizeClassArrayPool"/> size class.
/// </summary>
/// <remarks>
/// <para>
/// Why not <see cref="System.Collections.Concurrent.ConcurrentBag{T}"/> or <see cref="System.Collections.Concurrent.ConcurrentQueue{T}"/>:
/// the bag keeps per-thread lists, which is the very thing that fails when one thread rents and another returns; the
/// queue grows by allocating segments. This ring is allocated once, never grows, and a full ring refuses the array,
/// which is how the class's bound is enforced without a separate counter.
/// </para>
/// <para>
/// D. Vyukov's bounded queue with both indices claimed by compare-and-swap: a slot is free for the pusher that
/// claims position <c>p</c> when its sequence is <c>p</c>, and holds an array for the popper that claims <c>p</c>
/// when its sequence is <c>p + 1</c>. Thread-safety: every member from any thread.
/// </para>
/// </remarks>
internal sealed class ArrayRing
{
    private struct Slot
    {
        public long Sequence;
        public byte[]? Array;
    }

    private readonly Slot[] _slots;
    private readonly long _mask;
    private PaddedLong _pushPosition; // next position a returner claims; advanced by CAS
    private PaddedLong _popPosition;  // next position a renter claims; advanced by CAS

    /// <summary>Creates a ring of <paramref name="capacity"/> slots, a power of two.</summary>
    public ArrayRing(int capacity)
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

    /// <summary>Arrays held right now (a snapshot).</summary>
    public int Count => (int)Math.Clamp(Volatile.Read(ref _pushPosition.Value) - Volatile.Read(ref _popPosition.Value), 0, _slots.Length);

    /// <summary>Keeps <paramref name="array"/> unless the ring is full; false means the caller still owns it.</summary>
    public bool TryPush(byte[] array)
    {
        long position = Volatile.Read(ref _pushPosition.Value);
        while (true)
        {
            ref Slot slot = ref _slots[position & _mask];
            // Acquire: seeing the slot released orders our write after the previous popper's read and clear.
            long lag = Volatile.Read(ref slot.Sequence) - position;
            if (lag == 0)
            {
                long seen = Interlocked.CompareExchange(ref _pushPosition.Value, position + 1, position);
                if (seen == position)
                {
                    slot.Array = array;
                    // Release: the array reference is visible before any popper can see the slot as full.
                    Volatile.Write(ref slot.Sequence, position + 1);
                    return true;
                }

                position = seen;
            }
            else if (lag < 0)
            {
                return false; // the slot still holds an array from one lap ago: full
            }
            else
            {
                position = Volatile.Read(ref _pushPosition.Value); // another returner took this position
            }
        }
    }

    /// <summary>Takes a free array, or null when the ring is empty.</summary>
    public byte[]? TryPop()
    {
        long position = Volatile.Read(ref _popPosition.Value);
        while (true)
        {
            ref Slot slot = ref _slots[position & _mask];
            // Acquire: seeing the slot full makes the pusher's write of the array reference visible.
            long lag = Volatile.Read(ref slot.Sequence) - (position + 1);
            if (lag == 0)
            {
                long seen = Interlocked.CompareExchange(ref _popPosition.Value, position + 1, position);
                if (seen == position)
                {
                    byte[]? array = slot.Array;
                    slot.Array = null; // the ring must not keep an array alive once it is rented out again
                    // Release: our read and clear happen before a pusher may reuse the slot one lap later.
                    Volatile.Write(ref slot.Sequence, position + _slots.Length);
                    return array;
                }

                position = seen;
            }
            else if (lag < 0)
            {
                return null; // nothing pushed at this position yet: empty
            }
            else
            {
                position = Volatile.Read(ref _popPosition.Value); // we fell a lap behind other renters
            }
        }
    }
}
