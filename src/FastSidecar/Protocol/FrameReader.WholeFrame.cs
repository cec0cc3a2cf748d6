using System.Buffers;
using FastSidecar.Buffers;

namespace FastSidecar.Protocol;

/// <summary>The common frame of a flood taken in one step: a whole small data message lying in one segment.</summary>
internal sealed partial class FrameReader
{
    /// <summary>
    /// True when the next frame may be taken whole by <see cref="TryReadWholeFrame(ReadOnlySpan{byte}, long, out InboundMessage, out int)"/>:
    /// blocks are in use and no frame, fragmented message or close is in progress.
    /// </summary>
    public bool AtWholeFrameBoundary => _blocks is not null && !_inFrame && !_inMessage && !_closeReceived && !_disposed;

    /// <summary>
    /// Reads a whole single-frame, unmasked, uncompressed data message of block size that lies entirely in
    /// <paramref name="span"/> (the start of the unread bytes, <paramref name="bytesAvailable"/> in all), straight into
    /// the block writer: one header parse, one copy. <paramref name="frameLength"/> is what the frame took from the span.
    /// False, with nothing consumed and no state changed, for any other frame, which the general path then reads.
    /// Only at <see cref="AtWholeFrameBoundary"/>.
    /// </summary>
    /// <remarks>
    /// Why: a flood of small messages spent most of the loop's parse time in the general path's per-frame state
    /// (begin, consume across segments, end) and in the sequence's own work per frame (its first span, length and
    /// slice, each with a cast of the segment). A span lets the session take every whole frame of a segment and slice
    /// the sequence once. The checks are the general path's own: <see cref="Validate"/> on the header before anything
    /// is reserved, and UTF-8 for text (checked on the source bytes, before the copy, so a bad message leaves no
    /// reservation behind).
    /// </remarks>
    public bool TryReadWholeFrame(ReadOnlySpan<byte> span, long bytesAvailable, out InboundMessage message, out int frameLength)
    {
        message = default;
        frameLength = 0;
        if (!FrameHeader.TryRead(span, out FrameHeader header, out int headerLength)
            || !header.Fin
            || header.Rsv != 0
            || header.Masked
            || header.Opcode is not (Opcode.Binary or Opcode.Text)
            || !ReceiveBlockWriter.Fits(header.PayloadLength)
            || header.PayloadLength > span.Length - headerLength)
        {
            return false;
        }

        Validate(header);
        int length = (int)header.PayloadLength;
        ReadOnlySpan<byte> payload = span.Slice(headerLength, length);
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

        byte[] array = _blocks!.Reserve(length, bytesAvailable - headerLength, out int offset);
        payload.CopyTo(array.AsSpan(offset, length));
        ReceiveBlock block = _blocks.Commit(length, out int slot, out int generation);
        message = new InboundMessage(type, block, offset, length, slot, generation);
        frameLength = headerLength + length;
        return true;
    }

    private bool TryReadWholeFrame(ref ReadOnlySequence<byte> buffer, out InboundMessage message)
    {
        if (!TryReadWholeFrame(buffer.FirstSpan, buffer.Length, out message, out int frameLength))
        {
            return false;
        }

        buffer = buffer.Slice(frameLength);
        return true;
    }
}
