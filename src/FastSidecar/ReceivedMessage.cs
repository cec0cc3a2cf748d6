using System.Text;
using FastSidecar.Buffers;

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
    // Null for an empty payload (nothing was rented) and for the violation marker.
    // The payload's lease, or on a reconnect's place in the stream its ReconnectNotice: one field for both, so the
    // receive ring's slots stay as small as they were without reconnecting (a type test tells them apart).
    private readonly object? _lease;
    private readonly int _generation;
    private readonly bool _isMarker;

    internal ReceivedMessage(byte[] buffer, int length, MessageType type, SidecarBufferPool pool)
    {
        if (buffer.Length != 0)
        {
            _lease = BufferLease.Issue(buffer, pool, out _generation);
        }

        Length = length;
        Type = type;
    }

    private ReceivedMessage(bool isMarker) => _isMarker = isMarker;

    /// <summary>The place of a lost connection in the receive stream (no payload).</summary>
    internal ReceivedMessage(ReconnectNotice notice) => _lease = notice;

    /// <summary>
    /// Non-null when this is not a message but the place where a connection was lost and a reconnect began
    /// (<see cref="SidecarOptions.Reconnect"/>): no payload, <see cref="Length"/> 0; messages before it came on the
    /// lost connection, messages after it on a later one.
    /// </summary>
    public ReconnectNotice? Reconnect => _lease as ReconnectNotice;

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
    public ReadOnlySpan<byte> Span => Array().AsSpan(0, Length);

    /// <summary>The payload as memory. Valid until <see cref="Dispose"/>.</summary>
    /// <exception cref="ObjectDisposedException">This message (or a copy of it) was disposed.</exception>
    public ReadOnlyMemory<byte> Memory => Array().AsMemory(0, Length);

    /// <summary>Decodes the payload as UTF-8 (it was validated on arrival when <see cref="Type"/> is text). Allocates a string.</summary>
    public string GetText() => Encoding.UTF8.GetString(Span);

    /// <summary>Returns the payload buffer to the pool. Any further call, on this value or a copy, does nothing.</summary>
    public void Dispose() => (_lease as BufferLease)?.Release(_generation);

    /// <summary>Ends the lease but keeps the buffer with its issuer (the receive queue had no room for the message).</summary>
    internal void RevokeLease() => (_lease as BufferLease)?.Revoke(_generation);

    /// <summary>Copies the payload into <paramref name="destination"/> and disposes the message.</summary>
    internal int CopyToAndDispose(Span<byte> destination)
    {
        Span.CopyTo(destination);
        Dispose();
        return Length;
    }

    private byte[] Array()
    {
        if (_lease is not BufferLease lease)
        {
            return [];
        }

        return lease.ArrayFor(_generation) ?? throw new ObjectDisposedException(nameof(ReceivedMessage), "The message was disposed; its buffer went back to the pool.");
    }
}
