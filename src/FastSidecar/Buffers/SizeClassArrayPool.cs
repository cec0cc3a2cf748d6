using System.Buffers;
using System.Diagnostics;
using System.Numerics;

namespace FastSidecar.Buffers;

/// <summary>
/// The arrays behind <see cref="SidecarBufferPool"/>: power-of-two size classes from 16 B to 64 KiB, each a bounded
/// lock-free ring (<see cref="ArrayRing"/>) shared by every thread, so an array rented on one thread and returned on
/// another is found again by the next renter whichever thread it is.
/// </summary>
/// <remarks>
/// <para>
/// Why not <see cref="ArrayPool{T}.Shared"/> for these sizes: its fast tiers are per thread and per core. In this
/// library the renter and the returner are different threads by design (a send is rented on the application thread
/// and returned by the loop; a received message is rented by the loop and returned by the application), so every
/// return lands in a cache the renter never looks at and the renter allocates: measured at about one array per
/// message. Requests above 64 KiB are rare (large messages) and still go to the shared pool.
/// </para>
/// <para>
/// Bounds. A class keeps at most <c>min(4096, max(128, 4 MiB / size))</c> free arrays: 4096 for 16 B to 1 KiB, then
/// halving (2,048 of 2 KiB, 1,024 of 4 KiB, ..., 128 of 32 KiB), and 128 of 64 KiB: the receive blocks of a full
/// queue of 4096 1 KiB messages are 64 or more 64 KiB arrays, and a bound of exactly 64 sent a few of every such
/// backlog to the collector. 4096 is the default send and receive queue capacity: a full
/// queue is the largest batch one side can hand to the other in one go (a burst of sends the loop then writes out,
/// or a backlog of received messages the application then drains), and a smaller bound would push the tail of every
/// such burst to the garbage collector and make the next burst allocate it again. The 4 MiB per class caps what an
/// idle process keeps for large sizes (8 MiB for 64 KiB); in total at most about 34 MiB, and only if every class has once had that
/// many arrays in flight at the same moment (memory the process already held live at that peak). A ring is
/// allocated on the first use of its class (at most 64 KiB of slots, below the large-object threshold); an array that
/// finds its ring full is left to the garbage collector.
/// </para>
/// <para>Thread-safety: every member from any thread. Steady-state rent and return do not allocate.</para>
/// </remarks>
internal sealed class SizeClassArrayPool
{
    /// <summary>The smallest array handed out (a rent of 1 B gets 16 B, as from the shared pool).</summary>
    public const int MinArrayLength = 16;

    /// <summary>The largest size served from the rings; larger rents go to <see cref="ArrayPool{T}.Shared"/>.</summary>
    public const int MaxArrayLength = 64 * 1024;

    private const int MaxArraysPerClass = 4096;
    private const int MaxBytesPerClass = 4 * 1024 * 1024;
    private const int MinArraysPerClass = 128;
    private const int MinShift = 4; // log2(MinArrayLength)
    private const int ClassCount = 13; // 16 B .. 64 KiB

    // One ring per class, created on first use with a CAS (a losing racer's ring is garbage, never seen by anyone).
    private readonly ArrayRing?[] _classes = new ArrayRing?[ClassCount];

    /// <summary>The process-wide instance.</summary>
    public static SizeClassArrayPool Shared { get; } = new();

    /// <summary>The free arrays a class may keep (see the remarks).</summary>
    public static int RetainedPerClass(int arrayLength) => Math.Min(MaxArraysPerClass, Math.Max(MinArraysPerClass, MaxBytesPerClass / arrayLength));

    /// <summary>Rents an array of at least <paramref name="minimumLength"/> (positive) bytes; contents undefined.</summary>
    public byte[] Rent(int minimumLength)
    {
        Debug.Assert(minimumLength > 0);
        if (minimumLength > MaxArrayLength)
        {
            return ArrayPool<byte>.Shared.Rent(minimumLength);
        }

        int index = ClassIndex(minimumLength);
        return Volatile.Read(ref _classes[index])?.TryPop() ?? GC.AllocateUninitializedArray<byte>(MinArrayLength << index);
    }

    /// <summary>Takes back an array from <see cref="Rent"/>; the caller must not touch it afterwards.</summary>
    public void Return(byte[] array)
    {
        int length = array.Length;
        if (length > MaxArrayLength)
        {
            ArrayPool<byte>.Shared.Return(array);
            return;
        }

        if (length < MinArrayLength || !BitOperations.IsPow2(length))
        {
            return; // not one of ours (a caller's own array): let the collector have it rather than misfile it
        }

        int index = BitOperations.Log2((uint)length) - MinShift;
        ArrayRing ring = Volatile.Read(ref _classes[index]) ?? CreateClass(index);
        ring.TryPush(array); // full: the class is at its bound, the collector takes the array
    }

    /// <summary>Free arrays held by the class that serves <paramref name="minimumLength"/> (for tests).</summary>
    internal int FreeCount(int minimumLength) => Volatile.Read(ref _classes[ClassIndex(minimumLength)])?.Count ?? 0;

    private static int ClassIndex(int minimumLength) =>
        minimumLength <= MinArrayLength ? 0 : BitOperations.Log2(BitOperations.RoundUpToPowerOf2((uint)minimumLength)) - MinShift;

    private ArrayRing CreateClass(int index)
    {
        int capacity = RetainedPerClass(MinArrayLength << index);
        var created = new ArrayRing(capacity);
        // Release via the CAS: the ring's initialised slots are visible to whoever reads the reference.
        return Interlocked.CompareExchange(ref _classes[index], created, null) ?? created;
    }
}
