using System.Diagnostics;
using Microsoft.Extensions.ObjectPool;

namespace FastSidecar.Buffers;

/// <summary>
/// Ownership of one rented array, handed to the application inside a <see cref="ReceivedMessage"/>. A generation
/// number makes every release after the first harmless.
/// </summary>
/// <remarks>
/// <para>
/// Why a class behind a struct: <see cref="ReceivedMessage"/> is a copyable struct, so two copies of one message can
/// both be disposed (<c>using var m = ws.Receive(); Handle(m);</c> where <c>Handle</c> disposes too). Returning the
/// array twice would hand it to two later messages at once. Each copy carries the generation it was issued with;
/// only a release that still matches the lease's generation returns the array, by one compare-and-swap, and it moves
/// the generation on, so every other copy (and every later use of this recycled lease object) sees a stale number.
/// </para>
/// <para>
/// Leases are recycled through a shared <see cref="ObjectPool{T}"/>, so a message costs no allocation in steady state.
/// A stale copy would need 2³² reuses of the same lease object to alias a live one.
/// </para>
/// <para>Thread-safety: issued on the loop thread; released from any thread, any number of times.</para>
/// </remarks>
internal sealed class BufferLease : PayloadOwner
{
    // Enough for several full receive queues to be taken and disposed in a burst without a lease falling out of the
    // pool (and a new one being allocated for the next message); an idle lease costs about 40 bytes.
    private const int MaxRetainedLeases = 16 * 1024;

    private static readonly ObjectPool<BufferLease> s_leases =
        new DefaultObjectPool<BufferLease>(new DefaultPooledObjectPolicy<BufferLease>(), MaxRetainedLeases);

    private byte[]? _array;
    private SidecarBufferPool? _pool;
    private int _generation;

    /// <summary>Lends <paramref name="array"/> (rented from <paramref name="pool"/>) under a new lease.</summary>
    public static BufferLease Issue(byte[] array, SidecarBufferPool pool, out int generation)
    {
        BufferLease lease = s_leases.Get();
        Debug.Assert(lease._array is null);
        lease._array = array;
        lease._pool = pool;
        generation = Volatile.Read(ref lease._generation);
        return lease;
    }

    /// <summary>The array, if <paramref name="generation"/> is still the live one; null after the release. A lease has one slot, 0.</summary>
    public override byte[]? ArrayFor(int slot, int generation) => Volatile.Read(ref _generation) == generation ? _array : null;

    /// <summary>Returns the array to its pool if <paramref name="generation"/> is live; false (no effect) otherwise.</summary>
    public override bool Release(int slot, int generation) => End(generation, returnArray: true);

    /// <summary>
    /// Ends the lease without returning the array: the issuer keeps it (a delivery that found the receive queue full
    /// and will try again later with a new lease).
    /// </summary>
    public bool Revoke(int generation) => End(generation, returnArray: false);

    private bool End(int generation, bool returnArray)
    {
        // The first release moves the generation on; every other one, concurrent or later, fails here.
        if (Interlocked.CompareExchange(ref _generation, generation + 1, generation) != generation)
        {
            return false;
        }

        byte[] array = _array!;
        SidecarBufferPool pool = _pool!;
        _array = null;
        _pool = null;
        if (returnArray)
        {
            pool.Return(array);
        }

        s_leases.Return(this);
        return true;
    }
}
