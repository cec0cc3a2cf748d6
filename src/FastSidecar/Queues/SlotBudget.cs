namespace FastSidecar.Queues;

/// <summary>
/// The slots a growing queue may still hand out: its capacity minus the usable slots of every ring it has not yet
/// retired. Reservations are atomic, so a producer growing the queue and a consumer opening blocked slots at the same
/// moment can never together pass the capacity.
/// </summary>
/// <remarks>Thread-safety: every member from any thread.</remarks>
internal sealed class SlotBudget(int capacity, int initiallyInUse)
{
    private int _inUse = initiallyInUse;

    /// <summary>The bound: the queue's capacity.</summary>
    public int Capacity => capacity;

    /// <summary>Slots not held by any live ring (a snapshot).</summary>
    public int Available => capacity - Volatile.Read(ref _inUse);

    /// <summary>Takes up to <paramref name="wanted"/> slots; returns how many it took (0 when none are left).</summary>
    public int Reserve(int wanted)
    {
        int inUse = Volatile.Read(ref _inUse);
        while (true)
        {
            int granted = Math.Min(wanted, capacity - inUse);
            if (granted <= 0)
            {
                return 0;
            }

            int seen = Interlocked.CompareExchange(ref _inUse, inUse + granted, inUse);
            if (seen == inUse)
            {
                return granted;
            }

            inUse = seen;
        }
    }

    /// <summary>Gives back the slots of a retired ring.</summary>
    public void Release(int slots) => Interlocked.Add(ref _inUse, -slots);
}
