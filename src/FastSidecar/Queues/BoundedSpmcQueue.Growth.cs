using System.Numerics;
using System.Runtime.CompilerServices;

namespace FastSidecar.Queues;

/// <summary>
/// Storage that follows the traffic, for the single-producer direction: the same chain of rings as
/// <see cref="BoundedMpscQueue{T}"/> (read its growth remarks for the ordering and bound arguments), with the roles
/// turned around.
/// </summary>
/// <remarks>
/// <para>
/// The one producer grows and shrinks the queue itself, without a lock: nobody else claims on the tail ring, so
/// freezing it, linking the next ring and publishing it as the tail need no mutual exclusion. Consumers leave a ring
/// that is frozen and drained by a compare-and-swap on <see cref="_head"/>; the winner settles the old ring's slots
/// with the budget and opens the new one's blocked slots. A consumer that still holds the old ring finds it empty and
/// re-reads the head; old rings are never reused, so a late consumer cannot take from a ring that came back.
/// </para>
/// <para>
/// Shrinking: while the tail ring is larger than the first size, the producer samples the depth at each enqueue (one
/// read of the head index, only in that state). After two windows of a ring's size in enqueues whose deepest sample
/// was at most a quarter of the ring, the next enqueue that finds the ring empty (every position taken: with one
/// producer it stays empty) freezes it and continues in a ring half its size.
/// </para>
/// </remarks>
internal sealed partial class BoundedSpmcQueue<T>
{
    private const int QuietWindowsBeforeShrink = 2;

    private readonly int _initialSlots;
    private readonly SlotBudget _budget;

    // Null once recycled (see RecycleRing): any later use fails loudly instead of touching another owner's ring.
    private SpmcRing<T>? _tail; // producer only writes (release); consumers do not read it
    private SpmcRing<T>? _head; // consumers move it forward by compare-and-swap
    private bool _watchDepth;   // producer only: the tail ring is larger than the first size
    private int _windowEnqueues; // producer only, while _watchDepth
    private int _windowPeak;
    private int _quietWindows;

    /// <summary>Items queued right now (a snapshot).</summary>
    public int Count
    {
        get
        {
            int count = 0;
            for (SpmcRing<T>? ring = Volatile.Read(ref _head); ring is not null; ring = Volatile.Read(ref ring.Next))
            {
                count += ring.Count;
            }

            return Math.Min(count, _capacity);
        }
    }

    /// <summary>The size of the ring the producer fills now (a snapshot, for diagnostics and tests).</summary>
    internal int CurrentRingSize => Volatile.Read(ref _tail)?.Capacity ?? 0;

    private SpmcRing<T> Head => Volatile.Read(ref _head) ?? ThrowRecycled();

    private bool TryAdd(in T item)
    {
        SpmcRing<T> tail = _tail ?? ThrowRecycled();
        if (_watchDepth)
        {
            tail = WatchDepth(tail);
        }

        return tail.TryEnqueue(item) || TryAddSlow(tail, item);
    }

    /// <summary>Producer: the tail ring is full. Grows the queue if the budget allows.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryAddSlow(SpmcRing<T> tail, in T item)
    {
        int granted = _budget.Reserve(Math.Min(tail.Capacity * 2, _capacity));
        if (granted == 0)
        {
            return false;
        }

        var grown = new SpmcRing<T>(Math.Max(2, (int)BitOperations.RoundUpToPowerOf2((uint)granted)), granted);
        Replace(tail, grown);
        _watchDepth = true;
        _windowEnqueues = 0;
        _windowPeak = 0;
        _quietWindows = 0;
        return grown.TryEnqueue(item);
    }

    private void Replace(SpmcRing<T> tail, SpmcRing<T> next)
    {
        tail.Freeze();
        Volatile.Write(ref tail.Next, next);
        Volatile.Write(ref _tail, next);
    }

    /// <summary>Producer, while the tail ring is larger than the first size: samples the depth and halves the ring
    /// once the queue has been light for long enough and is empty now. Returns the ring to fill.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private SpmcRing<T> WatchDepth(SpmcRing<T> tail)
    {
        int depth = tail.Count;
        if (_quietWindows >= QuietWindowsBeforeShrink && depth == 0 && tail.UsableSlots == tail.Capacity
            && ReferenceEquals(Volatile.Read(ref _head), tail))
        {
            // Empty, the only ring, no blocked slots (so no consumer is opening any): its slots are settled here,
            // once, and consumers that move past it find nothing left to settle.
            _budget.Release(tail.TakeSlotsForAccounting());
            int size = tail.Capacity / 2;
            var smaller = new SpmcRing<T>(size, _budget.Reserve(size));
            Replace(tail, smaller);
            _watchDepth = size > _initialSlots;
            _windowEnqueues = 0;
            _windowPeak = 0;
            _quietWindows = 0;
            return smaller;
        }

        _windowPeak = Math.Max(_windowPeak, depth);
        if (++_windowEnqueues >= tail.Capacity)
        {
            _quietWindows = _windowPeak <= tail.Capacity / 4 ? _quietWindows + 1 : 0;
            _windowEnqueues = 0;
            _windowPeak = 0;
        }

        return tail;
    }

    /// <summary>Consumers: the head ring looked empty. Moves past drained frozen rings.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryDequeueSlow(out T item)
    {
        SpmcRing<T> head = Head;
        while (head.IsFrozen)
        {
            SpmcRing<T>? next = Volatile.Read(ref head.Next);
            if (!head.IsDrainedAfterFreeze || next is null)
            {
                item = default!;
                return false; // the producer links before it publishes anything in the next ring
            }

            if (ReferenceEquals(Interlocked.CompareExchange(ref _head, next, head), head))
            {
                _budget.Release(head.TakeSlotsForAccounting());
                int blocked = next.Capacity - next.UsableSlots;
                if (blocked > 0)
                {
                    next.ReleaseBlockedSlots(_budget.Reserve(blocked));
                }
            }

            head = Head;
            if (head.TryDequeue(out item))
            {
                return true;
            }
        }

        item = default!;
        return false;
    }
}
