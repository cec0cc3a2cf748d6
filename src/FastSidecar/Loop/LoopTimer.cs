namespace FastSidecar.Loop;

/// <summary>A handle to a timer scheduled on a <see cref="SidecarLoop"/>; cancel it with <see cref="SidecarLoop.CancelTimer"/>.</summary>
/// <remarks>
/// The handle names a slot of the loop's timer table and the slot's generation when the timer was scheduled; a
/// slot is reused only with a new generation, so a stale handle (fired or cancelled) never cancels a later timer.
/// <c>default</c> is never a scheduled timer.
/// </remarks>
internal readonly struct LoopTimer : IEquatable<LoopTimer>
{
    internal LoopTimer(int slot, int generation)
    {
        Slot = slot;
        Generation = generation;
    }

    internal int Slot { get; }

    internal int Generation { get; }

    public bool Equals(LoopTimer other) => Slot == other.Slot && Generation == other.Generation;

    public override bool Equals(object? obj) => obj is LoopTimer other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(Slot, Generation);

    public static bool operator ==(LoopTimer left, LoopTimer right) => left.Equals(right);

    public static bool operator !=(LoopTimer left, LoopTimer right) => !left.Equals(right);
}
