using System.Buffers;
using System.Text;
using FastSidecar.Buffers;
using FastSidecar.Protocol;
using static FastSidecar.Tests.Protocol.Frames;

namespace FastSidecar.Tests.Protocol;

/// <summary>
/// A client reader that lays messages out in blocks takes a whole small data frame lying in one segment in one step:
/// the rules of RFC 6455 still hold there, and the step gives the same messages as the general path wherever the
/// segments are cut.
/// </summary>
public sealed class FrameReaderWholeFrameTests
{
    private static WebSocketCloseCode BlockViolation(byte[] stream, long maxMessageSize = 1 << 20)
    {
        var pool = new SidecarBufferPool(trackRentals: true);
        WebSocketProtocolException ex;
        using (var reader = new FrameReader(WebSocketRole.Client, maxMessageSize, pool, layOutInBlocks: true))
        {
            ex = Assert.Throws<WebSocketProtocolException>(() =>
            {
                var sequence = new ReadOnlySequence<byte>(stream);
                List<InboundMessage> messages = [];
                try
                {
                    while (reader.Read(ref sequence, out InboundMessage message) is var status && status != FrameReadStatus.NeedMoreData)
                    {
                        if (status == FrameReadStatus.Message)
                        {
                            messages.Add(message);
                        }
                    }
                }
                finally
                {
                    messages.ForEach(m => m.Release(pool));
                }
            });
        }

        Assert.Equal(0, pool.Outstanding);
        return ex.ViolationCode;
    }

    private static List<ReadEvent> ReadInBlocks(ReadOnlySequence<byte> sequence, out ReadOnlySequence<byte> rest)
    {
        var pool = new SidecarBufferPool(trackRentals: true);
        var events = new List<ReadEvent>();
        using (var reader = new FrameReader(WebSocketRole.Client, 1 << 20, pool, layOutInBlocks: true))
        {
            while (reader.Read(ref sequence, out InboundMessage message) is var status && status != FrameReadStatus.NeedMoreData)
            {
                if (status == FrameReadStatus.Message)
                {
                    events.Add(new ReadEvent(status, message.Type, message.Span.ToArray()));
                    message.Release(pool);
                }
                else
                {
                    events.Add(new ReadEvent(status, null, reader.ControlPayload.ToArray()));
                }
            }

            reader.EndBurst();
        }

        Assert.Equal(0, pool.Outstanding);
        rest = sequence;
        return events;
    }

    [Fact]
    public void Invalid_UTF8_in_a_whole_text_frame_is_1007()
    {
        byte[] frame = Build(Opcode.Text, fin: true, [0x61, 0xFF, 0x62], mask: false);
        Assert.Equal(WebSocketCloseCode.InvalidPayloadData, BlockViolation(frame));
    }

    [Fact]
    public void A_whole_text_frame_ending_inside_a_UTF8_sequence_is_1007()
    {
        byte[] frame = Build(Opcode.Text, fin: true, [0x61, 0xE2, 0x82], mask: false);
        Assert.Equal(WebSocketCloseCode.InvalidPayloadData, BlockViolation(frame));
    }

    [Fact]
    public void A_whole_frame_over_the_message_limit_is_1009()
    {
        byte[] frame = Build(Opcode.Binary, fin: true, new byte[200], mask: false);
        Assert.Equal(WebSocketCloseCode.MessageTooBig, BlockViolation(frame, maxMessageSize: 100));
    }

    [Fact]
    public void A_masked_whole_frame_from_the_server_is_1002()
    {
        byte[] frame = Build(Opcode.Binary, fin: true, [1, 2, 3], mask: true);
        Assert.Equal(WebSocketCloseCode.ProtocolError, BlockViolation(frame));
    }

    [Fact]
    public void A_whole_frame_with_RSV1_and_no_extension_is_1002()
    {
        byte[] frame = [0b_1_100_0010, 3, 1, 2, 3];
        Assert.Equal(WebSocketCloseCode.ProtocolError, BlockViolation(frame));
    }

    [Fact]
    public void A_whole_data_frame_inside_a_fragmented_message_is_1002()
    {
        byte[] stream = Concat(Build(Opcode.Text, fin: false, "par"u8, mask: false), Build(Opcode.Binary, fin: true, [1, 2], mask: false));
        Assert.Equal(WebSocketCloseCode.ProtocolError, BlockViolation(stream));
    }

    [Fact]
    public void Messages_are_the_same_wherever_the_segments_are_cut()
    {
        byte[] kilobyte = new byte[1024];
        new Random(7).NextBytes(kilobyte);
        byte[] stream = Concat(
            Build(Opcode.Binary, fin: true, [1, 2, 3], mask: false),
            Build(Opcode.Text, fin: true, Encoding.UTF8.GetBytes("h\u00e9llo \u20ac"), mask: false),
            Build(Opcode.Binary, fin: true, kilobyte, mask: false),
            Build(Opcode.Ping, fin: true, "p"u8, mask: false),
            Build(Opcode.Text, fin: false, "frag"u8, mask: false),
            Build(Opcode.Continuation, fin: true, "ment"u8, mask: false),
            Build(Opcode.Binary, fin: true, [9], mask: false));
        List<ReadEvent> expected = ReadAll(WebSocketRole.Client, stream);
        Assert.Equal(5, expected.Count(e => e.Status == FrameReadStatus.Message));

        for (int cut = 0; cut <= stream.Length; cut++)
        {
            List<ReadEvent> events = ReadInBlocks(BufferSegment.Sequence(stream.AsMemory(0, cut), stream.AsMemory(cut)), out ReadOnlySequence<byte> rest);
            Assert.True(rest.IsEmpty, $"cut at {cut}: {rest.Length} bytes left unread");
            Assert.Equal(expected.Count, events.Count);
            for (int i = 0; i < expected.Count; i++)
            {
                Assert.True(expected[i].Same(events[i]), $"cut at {cut}: event {i} differs");
            }
        }
    }

    [Fact]
    public void A_frame_cut_short_waits_for_the_rest_and_consumes_nothing_of_it_twice()
    {
        byte[] frame = Build(Opcode.Binary, fin: true, [1, 2, 3, 4, 5], mask: false);
        var pool = new SidecarBufferPool(trackRentals: true);
        using (var reader = new FrameReader(WebSocketRole.Client, 1 << 20, pool, layOutInBlocks: true))
        {
            var first = new ReadOnlySequence<byte>(frame.AsMemory(0, 4));
            Assert.Equal(FrameReadStatus.NeedMoreData, reader.Read(ref first, out _));
            Assert.True(first.IsEmpty, "the header and the payload bytes so far are consumed");
            var second = new ReadOnlySequence<byte>(frame.AsMemory(4));
            Assert.Equal(FrameReadStatus.Message, reader.Read(ref second, out InboundMessage message));
            Assert.Equal([1, 2, 3, 4, 5], message.Span.ToArray());
            message.Release(pool);
            reader.EndBurst();
        }

        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Whole_frames_taken_from_a_span_then_the_general_path_give_the_same_messages_wherever_the_segments_are_cut()
    {
        byte[] kilobyte = new byte[1024];
        new Random(11).NextBytes(kilobyte);
        byte[] stream = Concat(
            Build(Opcode.Binary, fin: true, [1, 2, 3], mask: false),
            Build(Opcode.Text, fin: true, Encoding.UTF8.GetBytes("h\u00e9llo"), mask: false),
            Build(Opcode.Binary, fin: true, kilobyte, mask: false),
            Build(Opcode.Text, fin: false, "frag"u8, mask: false),
            Build(Opcode.Ping, fin: true, "p"u8, mask: false),
            Build(Opcode.Continuation, fin: true, "ment"u8, mask: false),
            Build(Opcode.Binary, fin: true, [9], mask: false),
            Build(Opcode.Binary, fin: true, [], mask: false));
        List<ReadEvent> expected = ReadAll(WebSocketRole.Client, stream);
        Assert.Equal(6, expected.Count(e => e.Status == FrameReadStatus.Message));

        for (int cut = 0; cut <= stream.Length; cut++)
        {
            var pool = new SidecarBufferPool(trackRentals: true);
            var events = new List<ReadEvent>();
            ReadOnlySequence<byte> sequence = BufferSegment.Sequence(stream.AsMemory(0, cut), stream.AsMemory(cut));
            using (var reader = new FrameReader(WebSocketRole.Client, 1 << 20, pool, layOutInBlocks: true))
            {
                while (true)
                {
                    // As the session does: every whole frame at the start of the first segment, one slice, then one
                    // frame by the general path, which also ends a fragmented message the span step must not enter.
                    if (reader.AtWholeFrameBoundary)
                    {
                        ReadOnlySpan<byte> span = sequence.FirstSpan;
                        int consumed = 0;
                        while (reader.TryReadWholeFrame(span[consumed..], sequence.Length - consumed, out InboundMessage whole, out int frameLength))
                        {
                            consumed += frameLength;
                            events.Add(new ReadEvent(FrameReadStatus.Message, whole.Type, whole.Span.ToArray()));
                            whole.Release(pool);
                        }

                        sequence = sequence.Slice(consumed);
                        if (consumed > 0)
                        {
                            continue;
                        }
                    }

                    FrameReadStatus status = reader.Read(ref sequence, out InboundMessage message);
                    if (status == FrameReadStatus.NeedMoreData)
                    {
                        break;
                    }

                    events.Add(status == FrameReadStatus.Message
                        ? new ReadEvent(status, message.Type, message.Span.ToArray())
                        : new ReadEvent(status, null, reader.ControlPayload.ToArray()));
                    if (status == FrameReadStatus.Message)
                    {
                        message.Release(pool);
                    }
                }

                reader.EndBurst();
            }

            Assert.True(sequence.IsEmpty, $"cut at {cut}: {sequence.Length} bytes left unread");
            Assert.Equal(0, pool.Outstanding);
            Assert.Equal(expected.Count, events.Count);
            for (int i = 0; i < expected.Count; i++)
            {
                Assert.True(expected[i].Same(events[i]), $"cut at {cut}: event {i} differs");
            }
        }
    }

    [Fact]
    public void Inside_a_fragmented_message_the_reader_is_not_at_a_whole_frame_boundary()
    {
        var pool = new SidecarBufferPool(trackRentals: true);
        using var reader = new FrameReader(WebSocketRole.Client, 1 << 20, pool, layOutInBlocks: true);
        Assert.True(reader.AtWholeFrameBoundary);
        var sequence = new ReadOnlySequence<byte>(Build(Opcode.Text, fin: false, "par"u8, mask: false));
        Assert.Equal(FrameReadStatus.NeedMoreData, reader.Read(ref sequence, out _));
        Assert.False(reader.AtWholeFrameBoundary);
        var end = new ReadOnlySequence<byte>(Build(Opcode.Continuation, fin: true, "t"u8, mask: false));
        Assert.Equal(FrameReadStatus.Message, reader.Read(ref end, out InboundMessage message));
        Assert.True(reader.AtWholeFrameBoundary);
        message.Release(pool);
        reader.EndBurst();
    }
}
