using System.Text;
using FastSidecar.Buffers;
using FastSidecar.Protocol;

namespace FastSidecar;

/// <summary>
/// A message received from the peer. It leases a pooled buffer until <see cref="Dispose"/> is called.
/// </summary>
/// <remarks>
/// Dispose it once, after the last use of <see cref="Span"/> or <see cref="Memory"/>. Copies of this struct share one
/// lease: the first <see cref="Dispose"/> of any copy returns the buffer, every later one does nothing, and reading
/// the payload through any copy after that throws <see cref="ObjectDisposedException"/> instead of showing bytes
/// that may already belong to another message.
/// </remarks>
public readonly struct ReceivedMessage : IDisposable
{
    // Null for an empty payload (nothing was rented) and for the violation marker. Either a lease of an array of
    // the message's own, or the block the message shares with the rest of its read burst (slot and offset in it).
    private readonly PayloadOwner? _owner;
    private readonly int _generation;
    private readonly int _slot;
    private readonly int _offset;
    private readonly bool _isMarker;
    private readonly ReconnectNotice? _reconnect; // set only on a reconnect's place in the stream (no payload)

    internal ReceivedMessage(in InboundMessage message, SidecarBufferPool pool)
    {
        if (message.Block is not null)
        {
            // The message already holds its place in the block's count: it passes to this value, not a new lease.
            _owner = message.Block;
            _slot = message.Slot;
            _generation = message.Generation;
            _offset = message.Offset;
        }
        else if (message.Buffer.Length != 0)
        {
            _owner = BufferLease.Issue(message.Buffer, pool, out _generation);
        }

        Length = message.Length;
        Type = message.Type;
    }

    private ReceivedMessage(bool isMarker) => _isMarker = isMarker;

    /// <summary>The place of a lost connection in the receive stream (no payload).</summary>
    internal ReceivedMessage(ReconnectNotice notice) => _reconnect = notice;

    /// <summary>
    /// Non-null when this is not a message but the place where a connection was lost and a reconnect began
    /// (<see cref="SidecarOptions.Reconnect"/>): no payload, <see cref="Length"/> 0; messages before it came on the
    /// lost connection, messages after it on a later one.
    /// </summary>
    public ReconnectNotice? Reconnect => _reconnect;

    /// <summary>The place of a protocol violation in the receive order (no payload); never handed to the application.</summary>
    internal static ReceivedMessage ViolationMarker => new(isMarker: true);

    /// <summary>True for <see cref="ViolationMarker"/>.</summary>
    internal bool IsViolationMarker => _isMarker;

    /// <summary>Whether the message is text or binary.</summary>
    public MessageType Type { get; }

    /// <summary>The payload length in bytes.</summary>
    public int Length { get; }

    /// <summary>The payload. Valid until <see cref="Dispose"/>.</summary>
    /// <exception cref="ObjectDisposedException">This message (or a copy of it) was disposed.</exception>
    public ReadOnlySpan<byte> Span => Array().AsSpan(_offset, Length);

    /// <summary>The payload as memory. Valid until <see cref="Dispose"/>.</summary>
    /// <exception cref="ObjectDisposedException">This message (or a copy of it) was disposed.</exception>
    public ReadOnlyMemory<byte> Memory => Array().AsMemory(_offset, Length);

    /// <summary>Decodes the payload as UTF-8 (it was validated on arrival when <see cref="Type"/> is text). Allocates a string.</summary>
    public string GetText() => Encoding.UTF8.GetString(Span);

    /// <summary>Returns the payload buffer to the pool. Any further call, on this value or a copy, does nothing.</summary>
    public void Dispose() => _owner?.Release(_slot, _generation);

    /// <summary>
    /// Ends the lease but keeps the buffer with its issuer (the receive queue had no room for the message). A block
    /// message was never given a lease of its own: the issuer's message still holds its slot, so nothing changes.
    /// </summary>
    internal void RevokeLease() => (_owner as BufferLease)?.Revoke(_generation);

    /// <summary>
    /// Releases this message for a caller holding its only copy (a batch receive), collecting block messages in
    /// <paramref name="pending"/> so a run of them from one block settles the block's count once.
    /// </summary>
    internal void ReleaseExclusive(ref BlockReleaseRun pending)
    {
        if (_owner is ReceiveBlock block)
        {
            block.EndExclusive(_slot, _generation);
            pending.Add(block);
        }
        else
        {
            Dispose();
        }
    }

    /// <summary>Copies the payload into <paramref name="destination"/> and disposes the message.</summary>
    internal int CopyToAndDispose(Span<byte> destination)
    {
        Span.CopyTo(destination);
        Dispose();
        return Length;
    }

    private byte[] Array()
    {
        if (_owner is null)
        {
            return [];
        }

        return _owner.ArrayFor(_slot, _generation) ?? throw new ObjectDisposedException(nameof(ReceivedMessage), "The message was disposed; its buffer went back to the pool.");
    }
}
