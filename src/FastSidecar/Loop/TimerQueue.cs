namespace FastSidecar.Loop;

/// <summary>The loop's timers: a slot table plus a min-heap of (due time, sequence) with lazy cancellation.</summary>
/// <remarks>
/// Loop thread only; no locks, no <see cref="System.Threading.Timer"/>. Cancel is O(1): it frees the slot and bumps its
/// generation, leaving the heap entry behind; a heap entry whose generation no longer matches its slot is skipped when
/// it surfaces. So that a loop which schedules and cancels far-future timers (keep-alives re-armed per message) does not
/// grow the heap without bound, the heap is rebuilt without dead entries once they are the majority. The sequence
/// number makes timers with the same due time fire in the order they were scheduled.
/// </remarks>
internal sealed class TimerQueue
{
    private struct Entry
    {
        public Action<object?>? Callback; // null: the slot is free
        public object? State;
        public int Generation;            // starts at 1 so that default(LoopTimer) never matches
        public int NextFree;
    }

    private const int CompactThreshold = 64;

    private readonly PriorityQueue<(int Slot, int Generation), (long Due, long Sequence)> _heap = new();
    private Entry[] _entries = new Entry[16];
    private int _freeHead = -1;
    private int _used;
    private long _sequence;
    private int _dead; // heap entries whose timer was cancelled
    private readonly List<((int Slot, int Generation) Element, (long Due, long Sequence) Priority)> _compactScratch = [];

    /// <summary>Timers scheduled and neither fired nor cancelled.</summary>
    public int Count { get; private set; }

    public LoopTimer Schedule(long dueTimestamp, Action<object?> callback, object? state)
    {
        int slot;
        if (_freeHead >= 0)
        {
            slot = _freeHead;
            _freeHead = _entries[slot].NextFree;
        }
        else
        {
            if (_used == _entries.Length)
            {
                Array.Resize(ref _entries, _entries.Length * 2);
            }

            slot = _used++;
            _entries[slot].Generation = 1;
        }

        ref Entry entry = ref _entries[slot];
        entry.Callback = callback;
        entry.State = state;
        _heap.Enqueue((slot, entry.Generation), (dueTimestamp, _sequence++));
        Count++;
        return new LoopTimer(slot, entry.Generation);
    }

    public bool Cancel(LoopTimer timer)
    {
        if (!IsLive(timer.Slot, timer.Generation))
        {
            return false;
        }

        Free(timer.Slot);
        _dead++;
        if (_dead > CompactThreshold && _dead > _heap.Count / 2)
        {
            Compact();
        }

        return true;
    }

    /// <summary>The due time of the earliest live timer, or <see cref="long.MaxValue"/>.</summary>
    public long NextDue
    {
        get
        {
            while (_heap.TryPeek(out (int Slot, int Generation) top, out (long Due, long Sequence) priority))
            {
                if (IsLive(top.Slot, top.Generation))
                {
                    return priority.Due;
                }

                _heap.Dequeue();
                _dead--;
            }

            return long.MaxValue;
        }
    }

    /// <summary>Removes the earliest timer if it is due at <paramref name="now"/>, handing back its callback.</summary>
    public bool TryTakeDue(long now, out Action<object?> callback, out object? state)
    {
        while (_heap.TryPeek(out (int Slot, int Generation) top, out (long Due, long Sequence) priority))
        {
            if (!IsLive(top.Slot, top.Generation))
            {
                _heap.Dequeue();
                _dead--;
                continue;
            }

            if (priority.Due > now)
            {
                break;
            }

            _heap.Dequeue();
            ref Entry entry = ref _entries[top.Slot];
            callback = entry.Callback!;
            state = entry.State;
            Free(top.Slot);
            return true;
        }

        callback = null!;
        state = null;
        return false;
    }

    /// <summary>Cancels every timer; returns how many were live.</summary>
    public int CancelAll()
    {
        int live = Count;
        for (int i = 0; i < _used; i++)
        {
            if (_entries[i].Callback is not null)
            {
                Free(i);
            }
        }

        _heap.Clear();
        _dead = 0;
        return live;
    }

    private bool IsLive(int slot, int generation) =>
        (uint)slot < (uint)_used && _entries[slot].Generation == generation && _entries[slot].Callback is not null;

    private void Free(int slot)
    {
        ref Entry entry = ref _entries[slot];
        entry.Callback = null;
        entry.State = null; // do not keep the state alive until the slot is reused
        entry.Generation = entry.Generation == int.MaxValue ? 1 : entry.Generation + 1;
        entry.NextFree = _freeHead;
        _freeHead = slot;
        Count--;
    }

    private void Compact()
    {
        _compactScratch.Clear();
        foreach (((int Slot, int Generation) element, (long Due, long Sequence) priority) in _heap.UnorderedItems)
        {
            if (IsLive(element.Slot, element.Generation))
            {
                _compactScratch.Add((element, priority));
            }
        }

        _heap.Clear();
        _heap.EnqueueRange(_compactScratch);
        _compactScratch.Clear();
        _dead = 0;
    }
}
