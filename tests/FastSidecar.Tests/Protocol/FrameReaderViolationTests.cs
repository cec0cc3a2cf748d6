using System.Buffers;
using System.Text;
using FastSidecar.Buffers;
using FastSidecar.Protocol;
using static FastSidecar.Tests.Protocol.Frames;

namespace FastSidecar.Tests.Protocol;

/// <summary>One hostile input per test, named after the RFC 6455 rule it breaks, asserting the close code.</summary>
public class FrameReaderViolationTests
{
    private const WebSocketRole Client = WebSocketRole.Client;
    private const WebSocketRole Server = WebSocketRole.Server;

    [Theory]
    [InlineData(0b_0100_0000)] // RSV1
    [InlineData(0b_0010_0000)] // RSV2
    [InlineData(0b_0001_0000)] // RSV3
    public void Reserved_bit_without_extension_is_1002(int rsvBit)
    {
        byte[] frame = [(byte)(0b_1_000_0010 | rsvBit), 0b_0_0000001, 0x42];
        Assert.Equal(WebSocketCloseCode.ProtocolError, Violation(Client, frame));
    }

    [Theory]
    [InlineData(0x3)]
    [InlineData(0x4)]
    [InlineData(0x5)]
    [InlineData(0x6)]
    [InlineData(0x7)]
    [InlineData(0xB)]
    [InlineData(0xC)]
    [InlineData(0xD)]
    [InlineData(0xE)]
    [InlineData(0xF)]
    public void Reserved_opcode_is_1002(int opcode)
    {
        byte[] frame = [(byte)(0b_1_000_0000 | opcode), 0b_0_0000000];
        Assert.Equal(WebSocketCloseCode.ProtocolError, Violation(Client, frame));
    }

    [Theory]
    [InlineData((int)Opcode.Ping)]
    [InlineData((int)Opcode.Pong)]
    [InlineData((int)Opcode.Close)]
    public void Control_frame_payload_over_125_bytes_is_1002(int opcode)
    {
        // 126 bytes announced with the 16-bit encoding; the payload itself never arrives, the header is enough.
        byte[] frame = [(byte)(0b_1_000_0000 | (int)opcode), 126, 0x00, 126];
        Assert.Equal(WebSocketCloseCode.ProtocolError, Violation(Client, frame));
    }

    [Theory]
    [InlineData((int)Opcode.Ping)]
    [InlineData((int)Opcode.Pong)]
    [InlineData((int)Opcode.Close)]
    public void Fragmented_control_frame_is_1002(int opcode)
    {
        byte[] frame = [(byte)(0b_0_000_0000 | (int)opcode), 0b_0_0000000];
        Assert.Equal(WebSocketCloseCode.ProtocolError, Violation(Client, frame));
    }

    [Fact]
    public void Continuation_without_a_message_in_progress_is_1002()
    {
        byte[] frame = [0b_1_000_0000, 0b_0_0000001, 0x42];
        Assert.Equal(WebSocketCloseCode.ProtocolError, Violation(Client, frame));
    }

    [Theory]
    [InlineData((int)Opcode.Text)]
    [InlineData((int)Opcode.Binary)]
    public void New_data_frame_inside_a_fragmented_message_is_1002(int second)
    {
        byte[] stream = Concat(
            Build(Opcode.Binary, fin: false, [1, 2, 3], mask: false),
            Build((Opcode)second, fin: true, "ab"u8, mask: false));
        Assert.Equal(WebSocketCloseCode.ProtocolError, Violation(Client, stream));
    }

    [Fact]
    public void Close_with_a_1_byte_payload_is_1002()
    {
        byte[] frame = [0b_1_000_1000, 0b_0_0000001, 0x03];
        Assert.Equal(WebSocketCloseCode.ProtocolError, Violation(Client, frame));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(999)]
    [InlineData(1004)]
    [InlineData(1005)]
    [InlineData(1006)]
    [InlineData(1015)]
    [InlineData(1016)]
    [InlineData(2000)]
    [InlineData(2999)]
    [InlineData(5000)]
    [InlineData(65535)]
    public void Close_code_not_allowed_on_the_wire_is_1002(int code)
    {
        byte[] frame = [0b_1_000_1000, 0b_0_0000010, (byte)(code >> 8), (byte)code];
        Assert.Equal(WebSocketCloseCode.ProtocolError, Violation(Client, frame));
    }

    [Fact]
    public void Close_reason_that_is_not_UTF8_is_1007()
    {
        byte[] frame = [0b_1_000_1000, 0b_0_0000100, 0x03, 0xE8, 0xC3, 0x28];
        Assert.Equal(WebSocketCloseCode.InvalidPayloadData, Violation(Client, frame));
    }

    [Fact]
    public void Close_reason_ending_inside_a_UTF8_sequence_is_1007()
    {
        byte[] frame = [0b_1_000_1000, 0b_0_0000011, 0x03, 0xE8, 0xE2];
        Assert.Equal(WebSocketCloseCode.InvalidPayloadData, Violation(Client, frame));
    }

    [Fact]
    public void Masked_frame_received_by_a_client_is_1002()
    {
        byte[] frame = Build(Opcode.Binary, fin: true, [1, 2, 3], mask: true);
        Assert.Equal(WebSocketCloseCode.ProtocolError, Violation(Client, frame));
    }

    [Fact]
    public void Unmasked_frame_received_by_a_server_is_1002()
    {
        byte[] frame = Build(Opcode.Binary, fin: true, [1, 2, 3], mask: false);
        Assert.Equal(WebSocketCloseCode.ProtocolError, Violation(Server, frame));
    }

    [Fact]
    public void Sixty_four_bit_length_with_the_most_significant_bit_set_is_1002()
    {
        byte[] frame = [0b_1_000_0010, 127, 0x80, 0, 0, 0, 0, 0, 0, 1];
        Assert.Equal(WebSocketCloseCode.ProtocolError, Violation(Client, frame));
    }

    [Fact]
    public void Non_minimal_16_bit_length_is_1002()
    {
        byte[] frame = [0b_1_000_0010, 126, 0x00, 125];
        Assert.Equal(WebSocketCloseCode.ProtocolError, Violation(Client, frame));
    }

    [Fact]
    public void Non_minimal_64_bit_length_is_1002()
    {
        byte[] frame = [0b_1_000_0010, 127, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF];
        Assert.Equal(WebSocketCloseCode.ProtocolError, Violation(Client, frame));
    }

    [Fact]
    public void Message_larger_than_the_limit_is_1009_before_anything_is_rented()
    {
        var pool = new SidecarBufferPool();
        // 2^62 bytes announced: a reader that rented first would fail very differently.
        byte[] frame = [0b_1_000_0010, 127, 0x40, 0, 0, 0, 0, 0, 0, 0];
        using (var reader = new FrameReader(Client, long.MaxValue, pool))
        {
            var ex = Assert.Throws<WebSocketProtocolException>(() =>
            {
                var sequence = new ReadOnlySequence<byte>(frame);
                reader.Read(ref sequence, out _);
            });
            Assert.Equal(WebSocketCloseCode.MessageTooBig, ex.CloseCode);
        }

        Assert.Equal(0, pool.TotalRentals);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Single_frame_one_byte_over_the_limit_is_1009()
    {
        byte[] frame = Build(Opcode.Binary, fin: true, new byte[1001], mask: false);
        Assert.Equal(WebSocketCloseCode.MessageTooBig, Violation(Client, frame, maxMessageSize: 1000));
    }

    [Fact]
    public void Fragmented_message_whose_next_fragment_would_exceed_the_limit_is_1009()
    {
        var pool = new SidecarBufferPool();
        byte[] stream = Concat(
            Build(Opcode.Binary, fin: false, new byte[600], mask: false),
            [0b_1_000_0000, 126, 0x01, 0x90]); // announces 400 more: 1000 > 999, with no payload sent
        using (var reader = new FrameReader(Client, 999, pool))
        {
            var ex = Assert.Throws<WebSocketProtocolException>(() =>
            {
                var sequence = new ReadOnlySequence<byte>(stream);
                ReadAll(reader, pool, ref sequence);
            });
            Assert.Equal(WebSocketCloseCode.MessageTooBig, ex.CloseCode);
            Assert.Equal(1, pool.TotalRentals); // the first fragment only; the oversized one rented nothing
        }

        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Fragmented_message_exactly_at_the_limit_is_accepted()
    {
        byte[] stream = Concat(
            Build(Opcode.Binary, fin: false, new byte[600], mask: false),
            Build(Opcode.Continuation, fin: true, new byte[400], mask: false));
        List<ReadEvent> events = ReadAll(Client, stream, maxMessageSize: 1000);
        Assert.Equal(1000, Assert.Single(events).Payload.Length);
    }

    [Fact]
    public void Text_that_is_not_UTF8_is_1007()
    {
        byte[] frame = Build(Opcode.Text, fin: true, [0x61, 0xC0, 0xAF, 0x62], mask: false);
        Assert.Equal(WebSocketCloseCode.InvalidPayloadData, Violation(Client, frame));
    }

    [Fact]
    public void Text_ending_inside_a_UTF8_sequence_is_1007()
    {
        byte[] frame = Build(Opcode.Text, fin: true, [0x61, 0xE2, 0x82], mask: false);
        Assert.Equal(WebSocketCloseCode.InvalidPayloadData, Violation(Client, frame));
    }

    [Fact]
    public void Invalid_UTF8_split_across_fragments_is_1007()
    {
        // E2 82 is a valid prefix; 28 after it is not a continuation byte.
        byte[] stream = Concat(
            Build(Opcode.Text, fin: false, [0x61, 0xE2], mask: false),
            Build(Opcode.Ping, fin: true, [], mask: false),
            Build(Opcode.Continuation, fin: false, [0x82], mask: false),
            Build(Opcode.Continuation, fin: true, [0x28], mask: false));
        Assert.Equal(WebSocketCloseCode.InvalidPayloadData, Violation(Client, stream));
    }

    [Fact]
    public void Invalid_UTF8_fails_as_soon_as_it_arrives_mid_frame()
    {
        var pool = new SidecarBufferPool();
        byte[] frame = Build(Opcode.Text, fin: true, [.. "hello"u8, 0xFF, .. new byte[10_000]], mask: false);
        using (var reader = new FrameReader(Client, 1 << 20, pool))
        {
            // Deliver only the header and the first 6 payload bytes: the frame is far from complete.
            var sequence = new ReadOnlySequence<byte>(frame, 0, 4 + 6);
            var ex = Assert.Throws<WebSocketProtocolException>(() => reader.Read(ref sequence, out _));
            Assert.Equal(WebSocketCloseCode.InvalidPayloadData, ex.CloseCode);
        }

        Assert.Equal(0, pool.Outstanding);
    }

    [Theory]
    [InlineData(1000)]
    [InlineData(1003)]
    [InlineData(1007)]
    [InlineData(1011)]
    [InlineData(1012)]
    [InlineData(1013)]
    [InlineData(1014)]
    [InlineData(3000)]
    [InlineData(4999)]
    public void Close_codes_allowed_on_the_wire_are_reported(int code)
    {
        byte[] frame = [0b_1_000_1000, 0b_0_0000100, (byte)(code >> 8), (byte)code, (byte)'o', (byte)'k'];
        ReadEvent close = Assert.Single(ReadAll(Client, frame));
        Assert.Equal(FrameReadStatus.Close, close.Status);
        Assert.Equal(code, close.CloseCode);
    }

    [Fact]
    public void Close_without_payload_reports_1005_and_an_empty_reason()
    {
        var pool = new SidecarBufferPool();
        using var reader = new FrameReader(Client, 1024, pool);
        var sequence = new ReadOnlySequence<byte>([0b_1_000_1000, 0]);
        Assert.Equal(FrameReadStatus.Close, reader.Read(ref sequence, out _));
        Assert.Equal(1005, reader.CloseCode);
        Assert.True(reader.CloseReason.IsEmpty);
    }

    [Fact]
    public void Bytes_after_a_close_frame_are_left_to_the_caller()
    {
        var pool = new SidecarBufferPool();
        byte[] stream = Concat(
            Build(Opcode.Close, fin: true, [0x03, 0xE8, .. "bye"u8], mask: false),
            Build(Opcode.Binary, fin: true, [1, 2, 3], mask: false));
        using (var reader = new FrameReader(Client, 1024, pool))
        {
            var sequence = new ReadOnlySequence<byte>(stream);
            Assert.Equal(FrameReadStatus.Close, reader.Read(ref sequence, out _));
            Assert.Equal(1000, reader.CloseCode);
            Assert.Equal("bye", Encoding.UTF8.GetString(reader.CloseReason));
            Assert.Equal(5, sequence.Length);
            Assert.Equal(FrameReadStatus.NeedMoreData, reader.Read(ref sequence, out _));
            Assert.Equal(5, sequence.Length);
        }

        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Zero_length_messages_carry_the_empty_array_and_rent_nothing()
    {
        var pool = new SidecarBufferPool();
        byte[] stream = Concat(
            Build(Opcode.Text, fin: true, [], mask: false),
            Build(Opcode.Binary, fin: false, [], mask: false),
            Build(Opcode.Continuation, fin: true, [], mask: false));
        using (var reader = new FrameReader(Client, 1024, pool))
        {
            var sequence = new ReadOnlySequence<byte>(stream);
            Assert.Equal(FrameReadStatus.Message, reader.Read(ref sequence, out InboundMessage text));
            Assert.Equal(MessageType.Text, text.Type);
            Assert.Equal(0, text.Length);
            pool.Return(text.Buffer);
            Assert.Equal(FrameReadStatus.Message, reader.Read(ref sequence, out InboundMessage binary));
            Assert.Equal(MessageType.Binary, binary.Type);
            Assert.Equal(0, binary.Length);
            pool.Return(binary.Buffer);
        }

        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Dispose_returns_a_partial_message_buffer()
    {
        var pool = new SidecarBufferPool();
        byte[] stream = Build(Opcode.Binary, fin: false, new byte[300], mask: false);
        using (var reader = new FrameReader(Client, 1024, pool))
        {
            var sequence = new ReadOnlySequence<byte>(stream);
            Assert.Equal(FrameReadStatus.NeedMoreData, reader.Read(ref sequence, out _));
            Assert.Equal(1, pool.Outstanding);
        }

        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Single_frame_message_buffer_is_rented_at_the_announced_length()
    {
        var pool = new SidecarBufferPool();
        byte[] stream = Build(Opcode.Binary, fin: true, new byte[70_000], mask: false);
        using (var reader = new FrameReader(Client, 1 << 20, pool))
        {
            var sequence = new ReadOnlySequence<byte>(stream);
            Assert.Equal(FrameReadStatus.Message, reader.Read(ref sequence, out InboundMessage message));
            Assert.Equal(70_000, message.Length);
            Assert.True(message.Buffer.Length >= 70_000);
            Assert.Equal(1, pool.TotalRentals);
            pool.Return(message.Buffer);
        }

        Assert.Equal(0, pool.Outstanding);
    }
}
