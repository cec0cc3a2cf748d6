using System.Buffers;
using FastSidecar.Protocol;

namespace FastSidecar.Tests.Protocol;

public class FrameWriterTests
{
    /// <summary>Hands out tiny spans so frames must be written in many pieces.</summary>
    private sealed class StingyWriter(int pieceSize) : IBufferWriter<byte>
    {
        private readonly List<byte> _written = [];
        private byte[] _current = [];

        public byte[] Written => [.. _written];

        public void Advance(int count) => _written.AddRange(_current.AsSpan(0, count).ToArray());

        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            _current = new byte[Math.Max(sizeHint > 0 ? Math.Min(sizeHint, FrameHeader.MaxLength) : 1, pieceSize)];
            return _current;
        }

        public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(125)]
    [InlineData(126)]
    [InlineData(65535)]
    [InlineData(65536)]
    [InlineData(200_000)]
    public void Written_frames_parse_back_in_both_roles(int length)
    {
        byte[] payload = new byte[length];
        new Random(length).NextBytes(payload);
        foreach (bool mask in new[] { false, true })
        {
            byte[] frame = Frames.Build(Opcode.Binary, fin: true, payload, mask, maskKey: 0x5EED_1234);
            if (mask && length > 0)
            {
                Assert.False(frame.AsSpan(frame.Length - length).SequenceEqual(payload));
            }

            ReadEvent message = Assert.Single(Frames.ReadAll(mask ? WebSocketRole.Server : WebSocketRole.Client, frame));
            Assert.Equal(payload, message.Payload);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(14)]
    [InlineData(1000)]
    public void Writer_that_hands_out_small_spans_gets_the_same_bytes(int pieceSize)
    {
        byte[] payload = new byte[70_001];
        new Random(3).NextBytes(payload);
        byte[] expected = Frames.Build(Opcode.Binary, fin: false, payload, mask: true, maskKey: 0x0102_0304);

        var stingy = new StingyWriter(pieceSize);
        FrameWriter.WriteFrame(stingy, Opcode.Binary, fin: false, payload, mask: true, maskKey: 0x0102_0304);
        Assert.Equal(expected, stingy.Written);
    }

    [Fact]
    public void Close_frame_carries_the_code_big_endian_and_the_reason()
    {
        var writer = new ArrayBufferWriter<byte>();
        FrameWriter.WriteClose(writer, 1001, "bye"u8, mask: false, maskKey: 0);
        Assert.Equal(new byte[] { 0b_1_000_1000, 0b_0_0000101, 0x03, 0xE9, (byte)'b', (byte)'y', (byte)'e' }, writer.WrittenSpan.ToArray());
    }

    [Fact]
    public void Close_without_status_has_an_empty_payload()
    {
        var writer = new ArrayBufferWriter<byte>();
        FrameWriter.WriteClose(writer, 1005, [], mask: false, maskKey: 0);
        Assert.Equal(new byte[] { 0b_1_000_1000, 0 }, writer.WrittenSpan.ToArray());
    }

    [Fact]
    public void Close_with_a_code_not_allowed_on_the_wire_is_refused()
    {
        var writer = new ArrayBufferWriter<byte>();
        Assert.Throws<ArgumentOutOfRangeException>(() => FrameWriter.WriteClose(writer, 1006, [], mask: false, maskKey: 0));
    }

    [Fact]
    public void Close_reason_over_123_bytes_is_refused()
    {
        var writer = new ArrayBufferWriter<byte>();
        Assert.Throws<ArgumentException>(() => FrameWriter.WriteClose(writer, 1000, new byte[124], mask: false, maskKey: 0));
    }

    [Fact]
    public void Writing_a_frame_does_not_allocate()
    {
        var writer = new ArrayBufferWriter<byte>(1 << 20);
        byte[] payload = new byte[1000];
        FrameWriter.WriteFrame(writer, Opcode.Binary, fin: true, payload, mask: true, maskKey: 7);
        writer.ResetWrittenCount();

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            FrameWriter.WriteFrame(writer, Opcode.Binary, fin: true, payload, mask: true, maskKey: 7);
            FrameWriter.WriteClose(writer, 1000, "x"u8, mask: true, maskKey: 7);
        }

        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 200, "frames should be written without allocation");
    }

    [Fact]
    public void Mask_key_source_gives_varied_keys()
    {
        var source = new MaskKeySource();
        var keys = new HashSet<int>();
        for (int i = 0; i < 1000; i++)
        {
            keys.Add(source.NextKey());
        }

        // 1000 draws from 2^32 values: a repeat-heavy source (say, a batch reused) would show up here.
        Assert.True(keys.Count > 990);
    }

    [Theory]
    [InlineData(999, false)]
    [InlineData(1000, true)]
    [InlineData(1003, true)]
    [InlineData(1004, false)]
    [InlineData(1005, false)]
    [InlineData(1006, false)]
    [InlineData(1007, true)]
    [InlineData(1011, true)]
    [InlineData(1014, true)]
    [InlineData(1015, false)]
    [InlineData(2999, false)]
    [InlineData(3000, true)]
    [InlineData(4999, true)]
    [InlineData(5000, false)]
    public void Close_code_validity_follows_RFC6455_section_7_4(int code, bool valid)
    {
        Assert.Equal(valid, CloseCodes.IsValidOnWire((ushort)code));
    }
}
