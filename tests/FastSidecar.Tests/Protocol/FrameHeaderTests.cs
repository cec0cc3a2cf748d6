using FastSidecar.Protocol;

namespace FastSidecar.Tests.Protocol;

public class FrameHeaderTests
{
    public static TheoryData<long, bool> Lengths()
    {
        var data = new TheoryData<long, bool>();
        foreach (long length in new[] { 0L, 1L, 125L, 126L, 65535L, 65536L, (1L << 32) + 5, long.MaxValue })
        {
            data.Add(length, false);
            data.Add(length, true);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Header_round_trips_with_the_minimal_length_encoding(long length, bool masked)
    {
        var header = new FrameHeader(fin: true, rsv: 0, Opcode.Binary, masked, masked ? unchecked((int)0xA1B2C3D4) : 0, length);
        Span<byte> bytes = stackalloc byte[FrameHeader.MaxLength];
        int written = header.Write(bytes);
        int expected = 2 + (length <= 125 ? 0 : length <= 65535 ? 2 : 8) + (masked ? 4 : 0);
        Assert.Equal(expected, written);
        Assert.Equal(expected, header.Length);

        Assert.True(FrameHeader.TryRead(bytes[..written], out FrameHeader read, out int readLength));
        Assert.Equal(written, readLength);
        Assert.Equal(header.Fin, read.Fin);
        Assert.Equal(header.Rsv, read.Rsv);
        Assert.Equal(header.Opcode, read.Opcode);
        Assert.Equal(header.Masked, read.Masked);
        Assert.Equal(header.MaskKey, read.MaskKey);
        Assert.Equal(length, read.PayloadLength);

        for (int prefix = 0; prefix < written; prefix++)
        {
            Assert.False(FrameHeader.TryRead(bytes[..prefix], out _, out _));
        }
    }

    [Fact]
    public void Header_bits_land_where_the_RFC_puts_them()
    {
        var header = new FrameHeader(fin: false, rsv: 0b101, Opcode.Text, masked: true, maskKey: 0x44332211, payloadLength: 5);
        Span<byte> bytes = stackalloc byte[FrameHeader.MaxLength];
        int written = header.Write(bytes);
        Assert.Equal(new byte[] { 0b_0_101_0001, 0b_1_0000101, 0x11, 0x22, 0x33, 0x44 }, bytes[..written].ToArray());
    }

    [Fact]
    public void Mask_key_is_read_in_wire_order()
    {
        byte[] bytes = [0b_1_000_0010, 0b_1_0000000, 0xAA, 0xBB, 0xCC, 0xDD];
        Assert.True(FrameHeader.TryRead(bytes, out FrameHeader header, out _));
        Assert.Equal(0xAA, header.MaskKey & 0xFF);
        Assert.Equal(0xDD, (header.MaskKey >> 24) & 0xFF);
    }
}
