using FastSidecar.Protocol;

namespace FastSidecar.Session;

/// <summary>
/// The one pong a session owes: the payload of the most recent ping not yet answered.
/// </summary>
/// <remarks>
/// Why not always write a pong per ping: a peer that floods pings and never reads would make us buffer every answer,
/// and the output pipe has no limit of its own (memory grew by gigabytes in seconds). Once a few dozen pongs wait for
/// the output to drain, RFC 6455 §5.5.3 lets us answer only the most recent ping: a newer one overwrites an older one
/// here, and the session writes the pong once everything before it has reached the kernel.
/// Loop thread only.
/// </remarks>
internal sealed class PendingPong
{
    private readonly byte[] _payload = new byte[FrameReader.MaxControlPayload];
    private int _length;

    /// <summary>True while a ping waits for its pong.</summary>
    public bool IsPending { get; private set; }

    /// <summary>Replaces whatever pong was owed with the answer to this ping.</summary>
    public void Set(ReadOnlySpan<byte> pingPayload)
    {
        // The reader rejects control frames over 125 bytes before we get here.
        pingPayload.CopyTo(_payload);
        _length = pingPayload.Length;
        IsPending = true;
    }

    /// <summary>Takes the owed pong's payload (valid until the next <see cref="Set"/>) and clears it.</summary>
    public ReadOnlySpan<byte> Take()
    {
        IsPending = false;
        return _payload.AsSpan(0, _length);
    }

    /// <summary>Forgets the owed pong (our close frame went out: nothing may follow it).</summary>
    public void Clear() => IsPending = false;
}
