using System.Buffers;
using System.Buffers.Binary;

namespace FastSidecar.Protocol;

/// <summary>Formats frames into an <see cref="IBufferWriter{T}"/> (in production the transport's <c>PipeWriter</c>).</summary>
/// <remarks>
/// The header is formatted into a 14-byte stack buffer, then header and payload go straight into the writer's memory,
/// masked on the way (<see cref="Masking.Copy"/>), so the payload is touched exactly once and nothing is allocated.
/// Large payloads are written in pieces no bigger than <see cref="ChunkHint"/> asks for, so a 16 MiB frame never
/// forces the writer to find 16 MiB of contiguous memory.
/// </remarks>
internal static class FrameWriter
{
    /// <summary>The size hint for each payload piece: large enough to amortise GetSpan, small enough to fit pooled segments.</summary>
    private const int ChunkHint = 16 * 1024;

    /// <summary>The longest close reason: a control payload is at most 125 bytes, 2 of which are the code.</summary>
    public const int MaxCloseReasonLength = 123;

    /// <summary>Writes one frame.</summary>
    /// <param name="output">Where the frame goes.</param>
    /// <param name="opcode">The frame's opcode (Continuation for the non-first fragments of a message).</param>
    /// <param name="fin">Whether this is the last frame of its message.</param>
    /// <param name="payload">The unmasked payload.</param>
    /// <param name="mask">True for client frames (RFC 6455 §5.1).</param>
    /// <param name="maskKey">The key, from <see cref="MaskKeySource"/>; ignored unless <paramref name="mask"/>.</param>
    public static void WriteFrame(IBufferWriter<byte> output, Opcode opcode, bool fin, ReadOnlySpan<byte> payload, bool mask, int maskKey) =>
        WriteFrame(output, opcode, fin, rsv: 0, payload, mask, maskKey);

    /// <summary>Writes one frame with reserved bits set, for an extension that gives them a meaning (RSV1: compressed).</summary>
    /// <param name="output">Where the frame goes.</param>
    /// <param name="opcode">The frame's opcode.</param>
    /// <param name="fin">Whether this is the last frame of its message.</param>
    /// <param name="rsv">RSV1–3 as a 3-bit value, RSV1 the highest.</param>
    /// <param name="payload">The unmasked payload.</param>
    /// <param name="mask">True for client frames.</param>
    /// <param name="maskKey">The key; ignored unless <paramref name="mask"/>.</param>
    public static void WriteFrame(IBufferWriter<byte> output, Opcode opcode, bool fin, byte rsv, ReadOnlySpan<byte> payload, bool mask, int maskKey)
    {
        ArgumentNullException.ThrowIfNull(output);
        var header = new FrameHeader(fin, rsv, opcode, mask, mask ? maskKey : 0, payload.Length);
        Span<byte> headerBytes = stackalloc byte[FrameHeader.MaxLength];
        int headerLength = header.Write(headerBytes);

        Span<byte> span = output.GetSpan(headerLength + Math.Min(payload.Length, ChunkHint));
        headerBytes[..headerLength].CopyTo(span);
        int written = headerLength;
        int maskOffset = 0;
        while (true)
        {
            int take = Math.Min(payload.Length, span.Length - written);
            if (mask)
            {
                maskOffset = Masking.Copy(payload[..take], span.Slice(written, take), maskKey, maskOffset);
            }
            else
            {
                payload[..take].CopyTo(span[written..]);
            }

            output.Advance(written + take);
            payload = payload[take..];
            if (payload.IsEmpty)
            {
                return;
            }

            span = output.GetSpan(Math.Min(payload.Length, ChunkHint));
            written = 0;
        }
    }

    /// <summary>Writes a close frame.</summary>
    /// <param name="output">Where the frame goes.</param>
    /// <param name="code">A code valid on the wire, or 1005 (no status) for a close frame with an empty payload.</param>
    /// <param name="reasonUtf8">Up to 123 bytes of UTF-8; must be empty with 1005.</param>
    /// <param name="mask">True for client frames.</param>
    /// <param name="maskKey">The key; ignored unless <paramref name="mask"/>.</param>
    public static void WriteClose(IBufferWriter<byte> output, ushort code, ReadOnlySpan<byte> reasonUtf8, bool mask, int maskKey)
    {
        if (code == (ushort)WebSocketCloseCode.Empty)
        {
            if (!reasonUtf8.IsEmpty)
            {
                throw new ArgumentException("A close frame without a status code cannot carry a reason.", nameof(reasonUtf8));
            }

            WriteFrame(output, Opcode.Close, fin: true, [], mask, maskKey);
            return;
        }

        if (!CloseCodes.IsValidOnWire(code))
        {
            throw new ArgumentOutOfRangeException(nameof(code), code, "This close code may not be sent on the wire.");
        }

        if (reasonUtf8.Length > MaxCloseReasonLength)
        {
            throw new ArgumentException("A close reason is limited to 123 bytes of UTF-8.", nameof(reasonUtf8));
        }

        Span<byte> payload = stackalloc byte[2 + MaxCloseReasonLength];
        BinaryPrimitives.WriteUInt16BigEndian(payload, code);
        reasonUtf8.CopyTo(payload[2..]);
        WriteFrame(output, Opcode.Close, fin: true, payload[..(2 + reasonUtf8.Length)], mask, maskKey);
    }
}
