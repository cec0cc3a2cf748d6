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
/// The ring core (<see cref="SequencedRing{T}"/>) with both indices claimed by compare-and-swap.
/// Thread-safety: every member from any thread.
/// </para>
/// </remarks>
internal sealed class ArrayRing(int capacity) : SequencedRing<byte[]?>(capacity)
{
    /// <summary>Keeps <paramref name="array"/> unless the ring is full; false means the caller still owns it.</summary>
    public bool TryPush(byte[] array) => TryEnqueueShared(array);

    /// <summary>Takes a free array, or null when the ring is empty.</summary>
    public byte[]? TryPop() => TryDequeueShared(out byte[]? array) ? array : null;
}
