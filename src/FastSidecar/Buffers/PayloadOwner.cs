namespace FastSidecar.Buffers;

/// <summary>
/// What a <see cref="ReceivedMessage"/> leases its payload from: a whole array of its own (<see cref="BufferLease"/>)
/// or one slot of a block shared with the other messages of its read burst (<see cref="ReceiveBlock"/>).
/// </summary>
/// <remarks>
/// A message is named by its owner, a slot (always 0 for a <see cref="BufferLease"/>) and the generation the slot had
/// when the message was issued. The first release moves the slot's generation on, so every copy of the message, and
/// every later release, sees a stale number and does nothing. Thread-safety: every member from any thread.
/// </remarks>
internal abstract class PayloadOwner
{
    /// <summary>The array holding the payload, if <paramref name="slot"/> is still at <paramref name="generation"/>; null after its release.</summary>
    public abstract byte[]? ArrayFor(int slot, int generation);

    /// <summary>Releases the message in <paramref name="slot"/> if <paramref name="generation"/> is live; false (no effect) otherwise.</summary>
    public abstract bool Release(int slot, int generation);
}
