using System.Buffers;
using FastSidecar.Buffers;

namespace FastSidecar.Protocol;

/// <summary>The common frame of a flood taken in one step: a whole small data message lying in one segment.</summary>
internal sealed partial class FrameReader
{
    /// <summary>
    /// Reads a whole single-frame, unmasked, uncompressed data message of block size that lies entirely in the first
    /// segment of <paramref name="buffer"/>, straight into the block writer: one header parse, one copy, one slice.
    /// False, with nothing consumed and no state changed, for any other frame, which the general path then reads.
    /// </summary>
    /// <remarks>
    /// Why: a flood of small messages spent most of the loop's parse time in the general path's per-frame state
    /// (begin, consume across segments, end) and in slicing the sequence three times per frame. The checks are the
    /// general path's own: <see cref="Validate"/> on the header before anything is reserved, and UTF-8 for text
    /// (checked on the source bytes, before the copy, so a bad message leaves no reservation behind).
    /// </remarks>
    private bool TryReadWholeFrame(ref ReadOnlySequence<byte> buffer, out InboundMessage message)
    {
        message = default;
        ReadOnlySpan<byte> first = buffer.FirstSpan;
        if (!FrameHeader.TryRead(first, out FrameHeader header, out int headerLength)
            || !header.Fin
            || header.Rsv != 0
            || header.Masked
            || header.Opcode is not (Opcode.Binary or Opcode.Text)
            || !ReceiveBlockWriter.Fits(header.PayloadLength)
            || header.PayloadLength > first.Length - headerLength)
        {
            return false;
        }

        Validate(header);
        int length = (int)header.PayloadLength;
        ReadOnlySpan<byte> payload = first.Slice(headerLength, length);
        MessageType type = header.Opcode == Opcode.Text ? MessageType.Text : MessageType.Binary;
        if (type == MessageType.Text)
        {
            var utf8 = default(Utf8Validator);
            if (!utf8.Append(payload))
            {
                throw InvalidPayload("A text message was not valid UTF-8.");
            }

            if (!utf8.IsComplete)
            {
                throw InvalidPayload("A text message ended inside a UTF-8 sequence.");
            }
        }

        byte[] array = _blocks!.Reserve(length, buffer.Length - headerLength, out int offset);
        payload.CopyTo(array.AsSpan(offset, length));
        ReceiveBlock block = _blocks.Commit(length, out int slot, out int generation);
        message = new InboundMessage(type, block, offset, length, slot, generation);
        buffer = buffer.Slice(headerLength + length);
        return true;
    }
}
