using System.Runtime.InteropServices;

namespace FastSidecar.Protocol;

/// <summary>A complete data message handed out by <see cref="FrameReader"/>.</summary>
/// <remarks>
/// <see cref="Buffer"/> was rented from the reader's <see cref="SidecarBufferPool"/> and ownership passes to the
/// receiver, who returns it exactly once. A zero-length message carries the empty array, whose return is a no-op, so
/// the rule stays uniform.
/// </remarks>
[StructLayout(LayoutKind.Auto)]
internal readonly struct InboundMessage
{
    public InboundMessage(MessageType type, byte[] buffer, int length)
    {
        Type = type;
        Buffer = buffer;
        Length = length;
    }

    public MessageType Type { get; }

    /// <summary>The rented array; only the first <see cref="Length"/> bytes are the message.</summary>
    public byte[] Buffer { get; }

    public int Length { get; }

    public ReadOnlySpan<byte> Span => Buffer.AsSpan(0, Length);
}
