using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.ObjectPool;

namespace FastSidecar.Queues;

/// <summary>A ring that <see cref="RingPool{TRing}"/> can create and recycle.</summary>
internal interface IPoolableRing<TSelf>
    where TSelf : class, IPoolableRing<TSelf>
{
    /// <summary>Creates an empty ring of <paramref name="capacity"/> slots.</summary>
    static abstract TSelf Create(int capacity);

    /// <summary>The number of slots, which is also the pool key.</summary>
    int Capacity { get; }

    /// <summary>True when no item is queued (a snapshot; exact once no thread can touch the ring).</summary>
    bool IsEmpty { get; }
}

/// <summary>
/// Drained rings kept for the next connection or loop, a few per capacity, so that reinitialising does not allocate
/// a new slot array (tens to hundreds of KiB, on the large-object heap at the default 4,096 slots, collected only by
/// gen-2 collections) per cycle.
/// </summary>
/// <remarks>
/// <para>
/// The contract that makes reuse safe is the returner's, not this pool's: a ring may be returned only when it is
/// drained and no thread can still reach it — its consumer has finished for good (a joined loop thread, or the
/// facade's final drain) and no producer or consumer is inside one of its methods or can enter one (each owner proves
/// this with its own announce-then-check counter). A ring that might still be reachable is never returned; it is
/// simply left to the collector. A drained ring needs no reset: its positions keep counting from where they stopped
/// and every slot's sequence is already right for the next lap.
/// </para>
/// <para>
/// Bound: <see cref="RetainedPerCapacity"/> rings per (type, capacity). Connections opened and closed one after another
/// reuse one ring each; four leave room for a few cycles overlapping without retaining more than about 600 KiB per
/// kind at the default capacity. Thread-safety: every member from any thread.
/// </para>
/// </remarks>
internal static class RingPool<TRing>
    where TRing : class, IPoolableRing<TRing>
{
    /// <summary>The most rings kept per capacity; more returns are dropped to the collector.</summary>
    public const int RetainedPerCapacity = 4;

    private static readonly ConcurrentDictionary<int, ObjectPool<TRing>> s_byCapacity = new();

    /// <summary>A drained ring of <paramref name="capacity"/> slots, reused when one is available.</summary>
    public static TRing Rent(int capacity) => PoolFor(capacity).Get();

    /// <summary>Keeps <paramref name="ring"/> for reuse. The caller guarantees it is drained and unreachable (see remarks).</summary>
    public static void Return(TRing ring)
    {
        Debug.Assert(ring.IsEmpty, "Only a drained ring may be recycled.");
        PoolFor(ring.Capacity).Return(ring);
    }

    private static ObjectPool<TRing> PoolFor(int capacity) =>
        s_byCapacity.GetOrAdd(capacity, static c => new DefaultObjectPool<TRing>(new Policy(c), RetainedPerCapacity));

    private sealed class Policy(int capacity) : IPooledObjectPolicy<TRing>
    {
        public TRing Create() => TRing.Create(capacity);

        // A ring that still holds an item would hand it to the next owner: refuse it even in release builds.
        public bool Return(TRing obj) => obj.IsEmpty;
    }
}
