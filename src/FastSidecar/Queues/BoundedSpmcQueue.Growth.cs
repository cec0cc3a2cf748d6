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
/// Shrinking, on the owner's clock, as for the send queue: the producer samples the depth once per burst while the ring
/// is larger than the first size (<see cref="Announce"/>), and only <see cref="TrimIfQuiet"/>, called once per trim
/// period, shrinks: after a whole period at or below a quarter of the ring, when the ring is empty (every position
/// taken: with one producer it stays empty), it freezes the ring, continues in the smallest ring that holds twice the
/// period's depth and moves the consumers' head on itself, so a large ring's slot array goes back to the shared pool
/// at once even when no application thread takes again for a long time.
/// </para>
/// </remarks>
internal sealed partial class BoundedSpmcQueue<T>
{
    private readonly int _initialSlots;
    private readonly SlotBudget _budget;

    // Null once recycled (see RecycleRing): any later use fails loudly instead of touching another owner's ring.
    private SpmcRing<T>? _tail; // producer only writes (release); consumers do not read it
    private SpmcRing<T>? _head; // consumers move it forward by compare-and-swap
    private bool _watchDepth;   // producer only: the tail ring is larger than the first size
    private int _peakSinceTrim; // producer only: the deepest sample since the last TrimIfQuiet

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
        return tail.TryEnqueue(item) || TryAddSlow(tail, item);
    }

    /// <summary>
    /// Producer: adds <paramref name="item"/> to the tail ring unpublished (see <see cref="TryEnqueueUnannounced"/>);
    /// <paramref name="published"/> says whether waiting items were made visible. A full ring publishes what waits, then grows.
    /// </summary>
    private bool TryAddDeferred(in T item, out bool published)
    {
        SpmcRing<T> tail = _tail ?? ThrowRecycled();
        if (tail.TryEnqueueDeferred(item, out published))
        {
            return true;
        }

        // Full: what is waiting must become visible, or no consumer could ever make room.
        tail.PublishDeferred();
        published = true;
        return TryAddSlow(tail, item);
    }

    /// <summary>Producer: the tail ring is full. Grows the queue if the budget allows.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryAddSlow(SpmcRing<T> tail, in T item)
    {
        int size = Math.Min(tail.Capacity * 2, _capacity);
        if (size <= tail.Capacity)
        {
            return false; // the largest ring already: its blocked slots open when the consumers get here (see the send queue)
        }

        int granted = _budget.Reserve(size);
        if (granted == 0)
        {
            return false;
        }

        var grown = new SpmcRing<T>(size, granted, rentSlots: true);
        Replace(tail, grown);
        _watchDepth = true;
        _peakSinceTrim = int.MaxValue; // the queue just grew: this period was not a quiet one
        return grown.TryEnqueue(item);
    }

    private void Replace(SpmcRing<T> tail, SpmcRing<T> next)
    {
        tail.PublishDeferred(); // a frozen ring takes no more publications
        tail.Freeze();
        Volatile.Write(ref tail.Next, next);
        Volatile.Write(ref _tail, next);
    }

    /// <summary>Producer, while the ring is larger than the first size: notes how deep the queue is now.</summary>
    private void SampleDepth()
    {
        if (_watchDepth)
        {
            _peakSinceTrim = Math.Max(_peakSinceTrim, _tail?.Count ?? 0);
        }
    }

    /// <summary>
    /// Producer, once per trim period: shrinks a grown queue that stayed at or below a quarter of its ring for the
    /// whole period since the last call and is empty now. True while the queue is still larger than its first size
    /// (the owner keeps calling); false once it is back to it.
    /// </summary>
    public bool TrimIfQuiet()
    {
        SpmcRing<T> tail = _tail ?? ThrowRecycled();
        int depth = tail.Count;
        int peak = Math.Max(_peakSinceTrim, depth);
        _peakSinceTrim = 0;
        if (tail.Capacity > _initialSlots && peak <= tail.Capacity / 4 && depth == 0 && tail.UsableSlots == tail.Capacity
            && ReferenceEquals(Volatile.Read(ref _head), tail))
        {
            int size = Math.Max(_initialSlots, (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, peak * 2)));
            // Empty, the only ring, no blocked slots (so no consumer is opening any): its slots are settled here,
            // once, and consumers that move past it find nothing left to settle.
            _budget.Release(tail.TakeSlotsForAccounting());
            var smaller = new SpmcRing<T>(size, _budget.Reserve(size), rentSlots: true);
            Replace(tail, smaller);
            _watchDepth = size > _initialSlots;
            if (ReferenceEquals(Interlocked.CompareExchange(ref _head, smaller, tail), tail))
            {
                // Nothing was left in the old ring and every slot was settled above, so the new one has no blocked
                // slots to open: the consumers' step past the ring is only the head's move.
                tail.TryRetireSlots();
            }
        }

        return IsGrown;
    }

    /// <summary>True while the queue holds more than its first ring (a snapshot).</summary>
    internal bool IsGrown
    {
        get
        {
            SpmcRing<T>? tail = Volatile.Read(ref _tail);
            return tail is not null && (tail.Capacity > _initialSlots || !ReferenceEquals(Volatile.Read(ref _head), tail));
        }
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

                head.TryRetireSlots();
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
