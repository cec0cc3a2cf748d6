using System.Runtime.InteropServices;
using FastSidecar.Buffers;

namespace FastSidecar.Protocol;

/// <summary>A complete data message handed out by <see cref="FrameReader"/>.</summary>
/// <remarks>
/// Ownership passes to the receiver, who releases it exactly once through <see cref="Release"/>. Either
/// <see cref="Buffer"/> is an array of its own, rented from the reader's <see cref="SidecarBufferPool"/> (a zero-length
/// message carries the empty array, whose return is a no-op, so the rule stays uniform), or the message is one slot
/// of a <see cref="ReceiveBlock"/> shared with the rest of its read burst, and <see cref="Buffer"/> is the block's array.
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

    public InboundMessage(MessageType type, ReceiveBlock block, int offset, int length, int slot, int generation)
    {
        Type = type;
        Buffer = block.Array;
        Offset = offset;
        Length = length;
        Block = block;
        Slot = slot;
        Generation = generation;
    }

    public MessageType Type { get; }

    /// <summary>The array; the message is <see cref="Length"/> bytes from <see cref="Offset"/>.</summary>
    public byte[] Buffer { get; }

    public int Offset { get; }

    public int Length { get; }

    /// <summary>The block holding the payload, or null when <see cref="Buffer"/> is the message's own array.</summary>
    public ReceiveBlock? Block { get; }

    /// <summary>The message's slot in <see cref="Block"/>.</summary>
    public int Slot { get; }

    /// <summary>The generation of <see cref="Slot"/> when the message was issued.</summary>
    public int Generation { get; }

    public ReadOnlySpan<byte> Span => Buffer.AsSpan(Offset, Length);

    /// <summary>Gives the payload back: the message's slot in its block, or its own array to <paramref name="pool"/>.</summary>
    public void Release(SidecarBufferPool pool)
    {
        if (Block is not null)
        {
            Block.Release(Slot, Generation);
        }
        else
        {
            pool.Return(Buffer);
        }
    }
}
