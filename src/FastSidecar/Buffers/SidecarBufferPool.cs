using System.Buffers;
using System.Diagnostics;
using FastSidecar.Buffers;

namespace FastSidecar;

/// <summary>
/// A counting array pool: every rental is tracked until it is returned, so tests, diagnostics and the shutdown report
/// can prove that no pooled buffer leaked. The arrays come from <see cref="SizeClassArrayPool"/> (shared size-class
/// rings that work when renter and returner are different threads, as they always are here) and, above 64 KiB,
/// from <see cref="ArrayPool{T}.Shared"/>.
/// </summary>
/// <remarks>
/// <para>
/// Why a wrapper instead of the backing pool directly: the backing pool cannot tell how many of its arrays are out,
/// and a leaked array is invisible to it. Here <see cref="Outstanding"/> is that number, and a second return of the same
/// array is caught instead of corrupting the backing pool (two later renters would otherwise share one array).
/// </para>
/// <para>
/// Zero-length rentals: <c>Rent(0)</c> returns <see cref="Array.Empty{T}"/>, which is not counted, and returning it is a
/// no-op. Callers therefore keep one uniform rule — whatever <see cref="Rent"/> gave you goes back through
/// <see cref="Return"/> — without the empty singleton being handed out twice and tracked twice.
/// </para>
/// <para>
/// Two modes. Counting (the default, and <see cref="Shared"/>): <see cref="Outstanding"/> is kept with one interlocked
/// add per rent and per return, nothing else, so the hot path pays a few nanoseconds. Tracking
/// (<c>new SidecarBufferPool(trackRentals: true)</c>, for tests and leak hunts): every array out is also kept in a
/// reference-identity set under a short lock, so a second return of the same array, or the return of an array this
/// pool never rented, is caught instead of corrupting the backing pool (two later renters would share one array).
/// </para>
/// <para>
/// Thread-safety: every member may be called from any thread; neither mode allocates in steady state.
/// </para>
/// </remarks>
public sealed class SidecarBufferPool
{
    // Tracking mode only: the arrays currently rented through this instance, by identity. HashSet reuses freed
    // entries, so steady-state Rent/Return do not allocate.
    private readonly HashSet<byte[]>? _rented;
    private readonly Lock _gate = new();
    private long _outstanding;
    private long _totalRentals;
    private MemoryPool<byte>? _memoryPool;

    /// <summary>Creates a pool that counts its rentals.</summary>
    /// <param name="trackRentals">Also remember each array out, to catch double and foreign returns (slower; for tests and leak hunts).</param>
    public SidecarBufferPool(bool trackRentals = false)
    {
        if (trackRentals)
        {
            _rented = new HashSet<byte[]>(ReferenceEqualityComparer.Instance);
        }
    }

    /// <summary>The process-wide pool that connections use unless they are given their own.</summary>
    public static SidecarBufferPool Shared { get; } = new();

    /// <summary>The number of arrays rented and not yet returned.</summary>
    public long Outstanding => Volatile.Read(ref _outstanding);

    /// <summary>The number of (non-empty) rentals since this pool was created.</summary>
    public long TotalRentals => Volatile.Read(ref _totalRentals);

    /// <summary>Rents an array of at least <paramref name="minimumLength"/> bytes. Its contents are undefined.</summary>
    /// <param name="minimumLength">The smallest length the caller needs; 0 gives the shared empty array.</param>
    /// <returns>An array that must be given back through <see cref="Return"/> exactly once.</returns>
    internal byte[] Rent(int minimumLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(minimumLength);
        if (minimumLength == 0)
        {
            return [];
        }

        byte[] array = SizeClassArrayPool.Shared.Rent(minimumLength);
        if (_rented is not null)
        {
            lock (_gate)
            {
                bool added = _rented.Add(array);
                Debug.Assert(added, "The backing pool handed out an array that is still rented through this pool.");
            }
        }

        Interlocked.Increment(ref _outstanding);
        Interlocked.Increment(ref _totalRentals);
        return array;
    }

    /// <summary>Returns an array obtained from <see cref="Rent"/>. Returning the empty array is a no-op.</summary>
    /// <param name="array">The rented array; the caller must not touch it afterwards.</param>
    /// <remarks>In tracking mode a second return of the same array (or an array this pool never rented) fails a debug assertion and is otherwise ignored.</remarks>
    internal void Return(byte[] array)
    {
        bool returned = TryReturn(array);
        Debug.Assert(returned, "An array was returned to SidecarBufferPool twice, or was never rented from it.");
    }

    /// <summary>
    /// Returns <paramref name="array"/>. In tracking mode: only if it is currently rented, false (and no effect)
    /// otherwise; in counting mode the caller's word is taken and this is always true.
    /// </summary>
    internal bool TryReturn(byte[] array)
    {
        ArgumentNullException.ThrowIfNull(array);
        if (array.Length == 0)
        {
            return true;
        }

        if (_rented is not null)
        {
            lock (_gate)
            {
                if (!_rented.Remove(array))
                {
                    return false;
                }
            }
        }

        Interlocked.Decrement(ref _outstanding);

        // Outside the lock: the backing pool has its own synchronisation, and the array is ours alone again.
        SizeClassArrayPool.Shared.Return(array);
        return true;
    }

    /// <summary>
    /// A <see cref="MemoryPool{T}"/> view of this pool for <c>System.IO.Pipelines</c>: its segments are rented here
    /// (so they count in <see cref="Outstanding"/>) and its owner objects are recycled, so a rent does not allocate in steady state.
    /// </summary>
    internal MemoryPool<byte> AsMemoryPool()
    {
        // A benign race may build two views; both are correct, one is kept.
        return _memoryPool ??= new PooledMemoryPool(this);
    }
}
