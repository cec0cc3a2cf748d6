using System.Numerics;
using System.Runtime.CompilerServices;

namespace FastSidecar.Queues;

/// <summary>
/// Storage that follows the traffic: the queue is a chain of rings, almost always exactly one.
/// </summary>
/// <remarks>
/// <para>
/// <b>Shape.</b> Producers fill <see cref="_tail"/>; the consumer takes from <see cref="_head"/>. Both start as one
/// small ring (<see cref="InitialSlots"/>). A producer that finds the tail ring full takes <see cref="_resizeLock"/>
/// (the only lock, taken only on this rare path), freezes the full ring (<see cref="SequencedRing{T}.Freeze"/>: no
/// claim on it succeeds from then on), links a ring twice its size behind it and publishes that ring as the tail. The
/// consumer drains the frozen ring, then moves to the next and gives the old one's slot array to the shared pool. Once traffic has
/// grown the queue to the ring size it needs, the chain is one ring again and the hot paths are exactly the plain
/// ring's: one compare-and-swap per enqueue, no atomic read-modify-write per dequeue, no allocation.
/// </para>
/// <para>
/// <b>Nothing lost, duplicated or reordered; linearizable.</b> Every successful enqueue is one successful
/// compare-and-swap on the tail index of the ring that was the tail at that moment: the freeze is an atomic add on
/// the same index, so a claim and a freeze are totally ordered, a claim ordered after the freeze fails (and its
/// producer retries on the new tail), and a claim ordered before it is taken from the frozen ring like any other.
/// Order the items by (ring, position): rings are linked in the order they became the tail, and a ring becomes the
/// tail only after its predecessor is frozen, so an enqueue that completes before another begins lands earlier in
/// that order (same ring: lower position; otherwise an earlier ring). In particular the items of one producer keep
/// their order. The consumer takes a ring's positions in order and leaves a ring only when it is frozen and every
/// position claimed before the freeze has been taken (<see cref="SequencedRing{T}.IsDrainedAfterFreeze"/>): a
/// producer that claimed before the freeze but is slow to write keeps the consumer on the old ring (it reports
/// "empty" meanwhile, as a plain ring does for a claimed, unwritten slot), so no item is skipped. An item is taken
/// once because each position is taken once (sequence numbers) and the consumer never returns to a ring it left.
/// </para>
/// <para>
/// <b>The capacity stays a bound.</b> Every ring's usable slots are reserved from <see cref="_budget"/> (capacity minus
/// the slots of live rings) before it exists, so the rings alive at once never hold more than the capacity. A ring
/// grown while its predecessor still holds items may therefore get fewer usable slots than its size: the rest are
/// blocked (they look full to producers) and the consumer opens them, budget permitting, when it moves onto that
/// ring. With a stalled consumer the queue holds exactly its capacity before producers see "full", as before. The
/// largest ring is never followed by another of its size: a producer that finds it full waits for the consumer to
/// reach it and open its blocked slots, so a slow consumer costs waiting, not a ring per fill.
/// </para>
/// <para>
/// <b>Shrinking, on the owner's clock.</b> The consumer notes the most it took between two drains (the deepest the
/// queue got). Only <see cref="TrimIfQuiet"/>, which the owner calls once per trim period (the loop's timer), ever
/// shrinks: when the whole period since the last call stayed at or below a quarter of the ring and the ring is empty
/// now, the consumer takes the lock, freezes the ring and, if nothing was claimed meanwhile, replaces it with the
/// smallest ring that holds twice that depth (if something was claimed, it unfreezes it, which is safe because no
/// claim can succeed on a frozen ring and it is still the tail: a producer that read the tail before the freeze finds
/// the very state it read). Bursts that come back within a period therefore find the ring they grew last time, and a
/// flood never grows and shrinks per burst; at most one shrink per period, and every ring's slot array comes from and
/// goes back to the shared pool (<see cref="SequencedRing{T}.TryRetireSlots"/>), so growing again after warm-up
/// allocates only the small ring objects.
/// </para>
/// </remarks>
internal sealed partial class BoundedMpscQueue<T>
{
    /// <summary>The first ring's size: 32 slots hold a burst of small sends and cost about a kibibyte.</summary>
    internal const int InitialSlots = 32;

    private readonly int _initialSlots;
    private readonly SlotBudget _budget;
    private readonly Lock _resizeLock = new(); // growers (producers) and the shrinking consumer; never on the hot path

    // Null once recycled (see RecycleRing): any later use fails loudly instead of touching another owner's ring.
    private MpscRing<T>? _tail; // where producers claim; written under _resizeLock (release), read by producers (acquire)
    private MpscRing<T>? _head; // where the consumer takes; written by the consumer (release), read by Count
    private long _headAtLastEmpty; // consumer only: the head ring's position when the consumer last found it empty
    private long _peakSinceTrim;   // consumer only: the most taken between two drains since the last TrimIfQuiet

    /// <summary>Items queued right now (a snapshot).</summary>
    public int Count
    {
        get
        {
            int count = 0;
            for (MpscRing<T>? ring = Volatile.Read(ref _head); ring is not null; ring = Volatile.Read(ref ring.Next))
            {
                count += ring.Count;
            }

            return Math.Min(count, _capacity);
        }
    }

    /// <summary>The size of the ring producers fill now (a snapshot, for diagnostics and tests).</summary>
    internal int CurrentRingSize => Volatile.Read(ref _tail)?.Capacity ?? 0;

    /// <summary>True when an enqueue could succeed without the consumer freeing anything (a snapshot).</summary>
    private bool HasRoom
    {
        get
        {
            MpscRing<T> tail = Tail;
            return (_budget.Available > 0 && tail.Capacity < _capacity) || tail.Count < tail.UsableSlots;
        }
    }

    private MpscRing<T> Tail => Volatile.Read(ref _tail) ?? ThrowRecycled();

    private MpscRing<T> Head => _head ?? ThrowRecycled();

    private bool TryAdd(in T item) => Tail.TryEnqueue(item) || TryAddSlow(item);

    /// <summary>The tail ring was full or frozen: retry on the current tail, growing the queue if the budget allows.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryAddSlow(in T item)
    {
        if (_budget.Available <= 0)
        {
            return Tail.TryEnqueue(item); // at capacity: no growth possible, but the consumer may have freed a slot
        }

        lock (_resizeLock)
        {
            MpscRing<T> tail = Tail;
            while (!tail.TryEnqueue(item))
            {
                MpscRing<T>? grown = Grow(tail);
                if (grown is null)
                {
                    return false;
                }

                tail = grown;
            }

            return true;
        }
    }

    /// <summary>Under <see cref="_resizeLock"/>: freezes the full tail and links a ring twice its size (budget permitting).</summary>
    private MpscRing<T>? Grow(MpscRing<T> tail)
    {
        int size = Math.Min(tail.Capacity * 2, _capacity);
        if (size <= tail.Capacity)
        {
            // The tail is already the largest ring: its blocked slots open when the consumer reaches it. Another ring of
            // the same size would only be allocated, and dropped again, each time a slow consumer lets it fill.
            return null;
        }

        int granted = _budget.Reserve(size);
        if (granted == 0)
        {
            return null;
        }

        // The full size even when the older rings still hold part of the budget: the slots beyond the grant stay
        // blocked until the consumer gets here, and then the queue is one ring of this size for good.
        var grown = new MpscRing<T>(size, granted, rentSlots: true);
        tail.Freeze();
        Volatile.Write(ref tail.Next, grown);
        Volatile.Write(ref _tail, grown);
        return grown;
    }

    /// <summary>Consumer: the head ring looked empty. Moves past drained frozen rings; notes a drain otherwise.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool TryDequeueSlow(out T item)
    {
        MpscRing<T> head = Head;
        while (head.IsFrozen)
        {
            MpscRing<T>? next = Volatile.Read(ref head.Next);
            if (!head.IsDrainedAfterFreeze || next is null)
            {
                // A producer that claimed before the freeze is still writing, or the grower has not linked the next
                // ring yet; each of them schedules a drain after its enqueue, so reporting "empty" loses nothing.
                item = default!;
                return false;
            }

            _budget.Release(head.TakeSlotsForAccounting());
            int blocked = next.Capacity - next.UsableSlots;
            if (blocked > 0)
            {
                next.ReleaseBlockedSlots(_budget.Reserve(blocked));
            }

            Volatile.Write(ref _head, next);
            head.TryRetireSlots();
            head = next;
            _headAtLastEmpty = next.HeadPosition;
            _peakSinceTrim = long.MaxValue; // the queue just grew: this period was not a quiet one
            _space.NotifyAll(); // a ring's worth of slots came free: every producer parked on a full queue may go on
            if (head.TryDequeue(out item))
            {
                return true;
            }
        }

        NoteDrained(head);
        item = default!;
        return false;
    }

    private void NoteDrained(MpscRing<T> head)
    {
        long position = head.HeadPosition;
        _peakSinceTrim = Math.Max(_peakSinceTrim, position - _headAtLastEmpty);
        _headAtLastEmpty = position;
    }

    /// <summary>
    /// Consumer, once per trim period: shrinks a grown queue that stayed at or below a quarter of its ring for the
    /// whole period since the last call and is empty now. True while the queue is still larger than its first size
    /// (the owner keeps calling); false once it is back to it.
    /// </summary>
    public bool TrimIfQuiet()
    {
        MpscRing<T> head = Head;
        long peak = Math.Max(_peakSinceTrim, head.HeadPosition - _headAtLastEmpty);
        _peakSinceTrim = 0;
        if (head.Capacity > _initialSlots && peak <= head.Capacity / 4 && !head.IsFrozen)
        {
            int size = Math.Max(_initialSlots, (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, peak * 2)));
            TryShrink(head, size);
        }

        return IsGrown;
    }

    /// <summary>True while the queue holds more than its first ring (a snapshot).</summary>
    internal bool IsGrown
    {
        get
        {
            MpscRing<T>? tail = Volatile.Read(ref _tail);
            return tail is not null && (tail.Capacity > _initialSlots || !ReferenceEquals(Volatile.Read(ref _head), tail));
        }
    }

    /// <summary>Consumer: replaces the single, drained head ring with one of <paramref name="size"/> slots, unless a producer got in first.</summary>
    private void TryShrink(MpscRing<T> head, int size)
    {
        lock (_resizeLock)
        {
            if (!ReferenceEquals(Volatile.Read(ref _tail), head) || head.UsableSlots != head.Capacity)
            {
                return; // a grower is active, or the ring still has blocked slots: not a quiet queue
            }

            head.Freeze();
            if (!head.IsDrainedAfterFreeze)
            {
                head.Unfreeze(); // a producer claimed a slot since the drain: keep the ring
                return;
            }

            _budget.Release(head.TakeSlotsForAccounting());
            var smaller = new MpscRing<T>(size, _budget.Reserve(size), rentSlots: true);
            Volatile.Write(ref head.Next, smaller);
            Volatile.Write(ref _tail, smaller);
            Volatile.Write(ref _head, smaller);
            _headAtLastEmpty = smaller.HeadPosition;
            head.TryRetireSlots();
        }
    }
}
