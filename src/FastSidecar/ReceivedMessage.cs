using System.Text;
using FastSidecar.Buffers;

namespace FastSidecar;

/// <summary>
/// A message received from the peer. It leases a pooled buffer until <see cref="Dispose"/> is called.
/// </summary>
/// <remarks>
/// Dispose it exactly once, after the last use of <see cref="Span"/> or <see cref="Memory"/>: copies of this
/// struct share the same lease, and the buffer goes back to the pool (and to other messages) when it is disposed.
/// </remarks>
public readonly struct ReceivedMessage : IDisposable
{
    private readonly byte[]? _buffer;
    private readonly SidecarBufferPool? _pool;

    internal ReceivedMessage(byte[] buffer, int length, MessageType type, SidecarBufferPool pool)
    {
        _buffer = buffer;
        _pool = pool;
        Length = length;
        Type = type;
    }

    /// <summary>The place of a protocol violation in the receive order (no payload); never handed to the application.</summary>
    internal static ReceivedMessage ViolationMarker => default;

    /// <summary>True for <see cref="ViolationMarker"/>: every real message has a pool to go back to.</summary>
    internal bool IsViolationMarker => _pool is null;

    /// <summary>Whether the message is text or binary.</summary>
    public MessageType Type { get; }

    /// <summary>The payload length in bytes.</summary>
    public int Length { get; }

    /// <summary>The payload. Valid until <see cref="Dispose"/>.</summary>
    public ReadOnlySpan<byte> Span => _buffer is null ? default : _buffer.AsSpan(0, Length);

    /// <summary>The payload as memory. Valid until <see cref="Dispose"/>.</summary>
    public ReadOnlyMemory<byte> Memory => _buffer is null ? default : _buffer.AsMemory(0, Length);

    /// <summary>Decodes the payload as UTF-8 (it was validated on arrival when <see cref="Type"/> is text). Allocates a string.</summary>
    public string GetText() => Encoding.UTF8.GetString(Span);

    /// <summary>Returns the payload buffer to the pool.</summary>
    public void Dispose()
    {
        if (_buffer is not null)
        {
            _pool!.Return(_buffer);
        }
    }
}
