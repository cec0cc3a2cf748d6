namespace FastSidecar.Queues;

/// <summary>
/// Slot arrays of retired rings, kept for the next ring of the same size: a queue that grows again after it shrank
/// rents its storage instead of allocating it.
/// </summary>
/// <remarks>
/// <para>
/// <b>Why an array may be reused while its old ring object is still reachable.</b> A thread that read a queue's ring
/// before the queue moved on may still run against the old ring object, and that object still points at the array.
/// Such a thread only ever <em>writes</em> into a slot after winning a compare-and-swap on the old ring's own index
/// (the tail for fillers, the head for takers). Retirement closes both: the tail is frozen (every fill claim fails)
/// and the head is sealed by the same offset (every take claim fails), each an atomic add that any racing claim is
/// ordered against. What such a thread still <em>reads</em> from the array (a sequence number of another ring's lap)
/// decides nothing, because the claim it could lead to fails. Threads that claimed before the freeze and seal may be
/// writing still: the array is given up only once every claimed position shows its slot released (filled, taken and
/// handed on to the next lap), otherwise it is left to the collector.
/// </para>
/// <para>
/// Only the ring object is never reused: it is what stale threads hold. It is small (two padded indices), so a
/// regrowth after warm-up costs a few hundred bytes per size step and no slot array.
/// </para>
/// </remarks>
internal abstract partial class SequencedRing<T>
{
    /// <summary>
    /// Once the ring is frozen and will never be taken from again (its owner moved every thread on to a newer ring):
    /// seals the take side and, when no claimed position is still being filled or taken, gives the slot array to the
    /// shared pool. True when the array went to the pool. The owner calls this once per ring.
    /// </summary>
    public bool TryRetireSlots()
    {
        if (!IsDrainedAfterFreeze)
        {
            return false;
        }

        long head = Volatile.Read(ref _head.Value);
        if (head >= FreezeOffset || Interlocked.CompareExchange(ref _head.Value, head + FreezeOffset, head) != head)
        {
            return false; // sealed already (someone else retired it), or a late claim moved the head: not ours to give
        }

        long tail = Unfrozen(Volatile.Read(ref _tail.Value));
        long firstClaimed = Math.Max(0, tail - _slots.Length);
        for (long position = firstClaimed; position < tail; position++)
        {
            if (Volatile.Read(ref _slots[position & _mask].Sequence) != position + _slots.Length)
            {
                return false; // a taker that claimed this position is still copying it out: the collector takes the array
            }
        }

        SlotArrays.Return(_slots);
        return true;
    }

    /// <summary>Slot arrays not owned by any live ring, a few per power-of-two size, shared by every queue of <typeparamref name="T"/>.</summary>
    /// <remarks>Thread-safety: every member from any thread. Rent and return happen only when a queue changes size, so a lock is cheap.</remarks>
    private static class SlotArrays
    {
        // Per size (log2): at 4,096 slots of a 40-byte message this keeps at most about 1.3 MB across all sizes.
        private const int RetainedPerSize = 4;
        private const int Sizes = 31;

        private static readonly Lock s_lock = new();
        private static readonly Slot[]?[]?[] s_free = new Slot[]?[]?[Sizes];
        private static readonly int[] s_count = new int[Sizes];

        public static Slot[] Rent(int capacity)
        {
            int size = System.Numerics.BitOperations.Log2((uint)capacity);
            lock (s_lock)
            {
                int count = s_count[size];
                if (count > 0)
                {
                    Slot[]?[] free = s_free[size]!;
                    Slot[] slots = free[count - 1]!;
                    free[count - 1] = null;
                    s_count[size] = count - 1;
                    return slots;
                }
            }

            return new Slot[capacity];
        }

        public static void Return(Slot[] slots)
        {
            int size = System.Numerics.BitOperations.Log2((uint)slots.Length);
            lock (s_lock)
            {
                Slot[]?[] free = s_free[size] ??= new Slot[]?[RetainedPerSize];
                int count = s_count[size];
                if (count < RetainedPerSize)
                {
                    free[count] = slots;
                    s_count[size] = count + 1;
                }
            }
        }

        /// <summary>Arrays kept for <paramref name="capacity"/> slots right now (for tests).</summary>
        public static int Retained(int capacity)
        {
            lock (s_lock)
            {
                return s_count[System.Numerics.BitOperations.Log2((uint)capacity)];
            }
        }
    }

    /// <summary>Slot arrays of <paramref name="capacity"/> slots kept for reuse right now (a snapshot, for tests).</summary>
    internal static int RetainedSlotArrays(int capacity) => SlotArrays.Retained(capacity);
}
