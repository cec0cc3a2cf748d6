using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace FastSidecar.Protocol;

/// <summary>The fixed part of a frame (RFC 6455 §5.2), read from and written to spans.</summary>
/// <remarks>
/// <para>
/// Mask key convention: <see cref="MaskKey"/> holds the four key bytes in wire order as a little-endian integer
/// (key byte <c>i</c> is <c>(MaskKey &gt;&gt; 8*i) &amp; 0xFF</c>). <see cref="Masking"/> uses the same convention.
/// </para>
/// <para>
/// Length encodings: the RFC says the minimal number of bytes MUST be used. <see cref="TryRead"/> enforces that
/// (a 16-bit length under 126 or a 64-bit length under 65536 is a 1002), as it enforces a clear most significant
/// bit on 64-bit lengths. Rejecting is the RFC's own rule; mainstream peers, the BCL included, always encode minimally,
/// and a single canonical encoding per length leaves nothing for two parsers to disagree about.
/// </para>
/// <para>
/// Only the encoding is checked here. What the bits mean for this connection (reserved bits, opcodes, masking by role,
/// control frame limits) is checked by <see cref="FrameReader"/>, which knows the role and the message state.
/// </para>
/// </remarks>
[StructLayout(LayoutKind.Auto)]
internal readonly struct FrameHeader
{
    /// <summary>The longest header: 2 fixed bytes, 8 bytes of 64-bit length, 4 bytes of mask key.</summary>
    public const int MaxLength = 14;

    public FrameHeader(bool fin, byte rsv, Opcode opcode, bool masked, int maskKey, long payloadLength)
    {
        Debug.Assert(rsv <= 7);
        Debug.Assert(payloadLength >= 0);
        Fin = fin;
        Rsv = rsv;
        Opcode = opcode;
        Masked = masked;
        MaskKey = maskKey;
        PayloadLength = payloadLength;
    }

    public bool Fin { get; }

    /// <summary>The three reserved bits: RSV1 = 4, RSV2 = 2, RSV3 = 1.</summary>
    public byte Rsv { get; }

    /// <summary>The raw opcode; may be a reserved value when read from the wire.</summary>
    public Opcode Opcode { get; }

    public bool Masked { get; }

    public int MaskKey { get; }

    public long PayloadLength { get; }

    /// <summary>Bytes that <see cref="Write"/> produces for this header.</summary>
    public int Length => 2 + (PayloadLength <= 125 ? 0 : PayloadLength <= ushort.MaxValue ? 2 : 8) + (Masked ? 4 : 0);

    /// <summary>Parses a header from the start of <paramref name="source"/>.</summary>
    /// <returns>False when <paramref name="source"/> does not yet hold the whole header.</returns>
    /// <exception cref="WebSocketProtocolException">1002 for a 64-bit length with its top bit set, or a non-minimal length encoding.</exception>
    public static bool TryRead(ReadOnlySpan<byte> source, out FrameHeader header, out int headerLength)
    {
        header = default;
        headerLength = 0;
        if (source.Length < 2)
        {
            return false;
        }

        byte b0 = source[0];
        byte b1 = source[1];
        bool masked = (b1 & 0b_1000_0000) != 0;
        int lengthCode = b1 & 0b_0111_1111;
        int extended = lengthCode switch { 126 => 2, 127 => 8, _ => 0 };
        int needed = 2 + extended + (masked ? 4 : 0);
        if (source.Length < needed)
        {
            return false;
        }

        long payloadLength = lengthCode;
        if (lengthCode == 126)
        {
            payloadLength = BinaryPrimitives.ReadUInt16BigEndian(source[2..]);
            if (payloadLength <= 125)
            {
                throw new WebSocketProtocolException(WebSocketCloseCode.ProtocolError, "A 16-bit payload length encoded a value that fits in 7 bits.");
            }
        }
        else if (lengthCode == 127)
        {
            ulong raw = BinaryPrimitives.ReadUInt64BigEndian(source[2..]);
            if (raw > long.MaxValue)
            {
                throw new WebSocketProtocolException(WebSocketCloseCode.ProtocolError, "A 64-bit payload length had its most significant bit set.");
            }

            if (raw <= ushort.MaxValue)
            {
                throw new WebSocketProtocolException(WebSocketCloseCode.ProtocolError, "A 64-bit payload length encoded a value that fits in 16 bits.");
            }

            payloadLength = (long)raw;
        }

        int maskKey = masked ? BinaryPrimitives.ReadInt32LittleEndian(source[(2 + extended)..]) : 0;
        header = new FrameHeader(
            fin: (b0 & 0b_1000_0000) != 0,
            rsv: (byte)((b0 >> 4) & 0b_111),
            opcode: (Opcode)(b0 & 0b_0000_1111),
            masked,
            maskKey,
            payloadLength);
        headerLength = needed;
        return true;
    }

    /// <summary>Writes this header with the minimal length encoding.</summary>
    /// <returns>The number of bytes written (<see cref="Length"/>).</returns>
    public int Write(Span<byte> destination)
    {
        int length = Length;
        if (destination.Length < length)
        {
            throw new ArgumentException("The destination is too small for the frame header.", nameof(destination));
        }

        destination[0] = (byte)((Fin ? 0b_1000_0000 : 0) | (Rsv << 4) | (int)Opcode);
        byte maskBit = Masked ? (byte)0b_1000_0000 : (byte)0;
        int offset;
        if (PayloadLength <= 125)
        {
            destination[1] = (byte)(maskBit | (byte)PayloadLength);
            offset = 2;
        }
        else if (PayloadLength <= ushort.MaxValue)
        {
            destination[1] = (byte)(maskBit | 126);
            BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)PayloadLength);
            offset = 4;
        }
        else
        {
            destination[1] = (byte)(maskBit | 127);
            BinaryPrimitives.WriteUInt64BigEndian(destination[2..], (ulong)PayloadLength);
            offset = 10;
        }

        if (Masked)
        {
            BinaryPrimitives.WriteInt32LittleEndian(destination[offset..], MaskKey);
        }

        return length;
    }
}
