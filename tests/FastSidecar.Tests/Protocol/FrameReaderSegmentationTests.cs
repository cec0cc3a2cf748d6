using System.Buffers;
using System.Text;
using FastSidecar.Protocol;
using static FastSidecar.Tests.Protocol.Frames;

namespace FastSidecar.Tests.Protocol;

/// <summary>Whatever way the bytes are cut, the reader must report the same events.</summary>
public class FrameReaderSegmentationTests
{
    /// <summary>Several frames: fragmented messages with pings and pongs between fragments, every length encoding, a close.</summary>
    private static (byte[] Stream, List<ReadEvent> Expected) Conversation(bool mask)
    {
        var random = new Random(99);
        byte[] text = Encoding.UTF8.GetBytes("fragmented text: κόσμε 😀 " + new string('x', 150));
        byte[] binary = new byte[300];
        random.NextBytes(binary);
        byte[] medium = new byte[130];
        random.NextBytes(medium);

        int key = 0x0BADF00D;
        byte[] stream = Concat(
            Build(Opcode.Text, fin: false, text.AsSpan(0, 21), mask, key++), // cuts the Greek word mid-character
            Build(Opcode.Ping, fin: true, "p1"u8, mask, key++),
            Build(Opcode.Continuation, fin: false, text.AsSpan(21, 10), mask, key++),
            Build(Opcode.Pong, fin: true, [], mask, key++),
            Build(Opcode.Continuation, fin: true, text.AsSpan(31), mask, key++),
            Build(Opcode.Binary, fin: true, medium, mask, key++),
            Build(Opcode.Text, fin: true, [], mask, key++),
            Build(Opcode.Binary, fin: false, binary.AsSpan(0, 1), mask, key++),
            Build(Opcode.Ping, fin: true, new byte[125], mask, key++),
            Build(Opcode.Continuation, fin: false, [], mask, key++),
            Build(Opcode.Continuation, fin: true, binary.AsSpan(1), mask, key++),
            Build(Opcode.Close, fin: true, [0x0F, 0xA0, .. "end"u8], mask, key));

        List<ReadEvent> expected =
        [
            new(FrameReadStatus.Ping, null, "p1"u8.ToArray()),
            new(FrameReadStatus.Pong, null, []),
            new(FrameReadStatus.Message, MessageType.Text, text),
            new(FrameReadStatus.Message, MessageType.Binary, medium),
            new(FrameReadStatus.Message, MessageType.Text, []),
            new(FrameReadStatus.Ping, null, new byte[125]),
            new(FrameReadStatus.Message, MessageType.Binary, binary),
            new(FrameReadStatus.Close, null, [0x0F, 0xA0, .. "end"u8], 4000),
        ];
        return (stream, expected);
    }

    private static void AssertSame(List<ReadEvent> expected, List<ReadEvent> actual, string context)
    {
        Assert.True(expected.Count == actual.Count, $"{context}: {actual.Count} events instead of {expected.Count}");
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.True(expected[i].Same(actual[i]), $"{context}: event {i} differs ({actual[i].Status})");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Whole_stream_in_one_segment_gives_the_expected_events(bool server)
    {
        WebSocketRole role = server ? WebSocketRole.Server : WebSocketRole.Client;
        (byte[] stream, List<ReadEvent> expected) = Conversation(mask: role == WebSocketRole.Server);
        AssertSame(expected, ReadAll(role, stream), "one segment");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Two_segments_cut_at_every_boundary_give_the_same_events(bool server)
    {
        WebSocketRole role = server ? WebSocketRole.Server : WebSocketRole.Client;
        (byte[] stream, List<ReadEvent> expected) = Conversation(mask: role == WebSocketRole.Server);
        for (int cut = 0; cut <= stream.Length; cut++)
        {
            ReadOnlyMemory<byte>[] parts = BufferSegment.Cut(stream, [cut]);

            var pool = new SidecarBufferPool();
            using (var reader = new FrameReader(role, 1 << 20, pool))
            {
                ReadOnlySequence<byte> sequence = BufferSegment.Sequence(parts);
                AssertSame(expected, ReadAll(reader, pool, ref sequence), $"one sequence cut at {cut}");
            }

            Assert.Equal(0, pool.Outstanding);
            AssertSame(expected, ReadIncrementally(role, parts), $"arriving in two reads cut at {cut}");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void One_byte_per_segment_gives_the_same_events(bool server)
    {
        WebSocketRole role = server ? WebSocketRole.Server : WebSocketRole.Client;
        (byte[] stream, List<ReadEvent> expected) = Conversation(mask: role == WebSocketRole.Server);
        ReadOnlyMemory<byte>[] parts = BufferSegment.Cut(stream, Enumerable.Range(1, stream.Length - 1));

        var pool = new SidecarBufferPool();
        using (var reader = new FrameReader(role, 1 << 20, pool))
        {
            ReadOnlySequence<byte> sequence = BufferSegment.Sequence(parts);
            AssertSame(expected, ReadAll(reader, pool, ref sequence), "one byte per segment");
        }

        Assert.Equal(0, pool.Outstanding);
        AssertSame(expected, ReadIncrementally(role, parts), "one byte per read");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void One_MiB_message_cut_at_random_places_gives_the_same_message(bool server)
    {
        WebSocketRole role = server ? WebSocketRole.Server : WebSocketRole.Client;
        var random = new Random(2024);
        bool mask = role == WebSocketRole.Server;
        byte[] payload = new byte[1 << 20];
        random.NextBytes(payload);
        byte[] text = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("ascii and ünïcödé 😀 ", 40_000)));
        byte[] stream = Concat(
            Build(Opcode.Binary, fin: true, payload, mask, 0x11223344),
            Build(Opcode.Text, fin: false, text.AsSpan(0, 333_333), mask, 0x55667788),
            Build(Opcode.Ping, fin: true, "mid"u8, mask, 0x0),
            Build(Opcode.Continuation, fin: true, text.AsSpan(333_333), mask, 0x7FFFFFFF));
        List<ReadEvent> expected =
        [
            new(FrameReadStatus.Message, MessageType.Binary, payload),
            new(FrameReadStatus.Ping, null, "mid"u8.ToArray()),
            new(FrameReadStatus.Message, MessageType.Text, text),
        ];

        for (int round = 0; round < 5; round++)
        {
            int[] cuts = [.. Enumerable.Range(0, 300).Select(_ => random.Next(1, stream.Length)).Distinct().Order()];
            ReadOnlyMemory<byte>[] parts = BufferSegment.Cut(stream, cuts);
            AssertSame(expected, ReadIncrementally(role, parts), $"round {round}");

            var pool = new SidecarBufferPool();
            using (var reader = new FrameReader(role, 4 << 20, pool))
            {
                ReadOnlySequence<byte> sequence = BufferSegment.Sequence(parts);
                AssertSame(expected, ReadAll(reader, pool, ref sequence), $"round {round}, one sequence");
            }

            Assert.Equal(0, pool.Outstanding);
        }
    }
}
