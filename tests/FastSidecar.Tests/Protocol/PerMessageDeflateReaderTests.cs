using System.Buffers;
using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using FastSidecar.Buffers;
using FastSidecar.Protocol;
using FastSidecar.Protocol.Deflate;
using FastSidecar.Tests.Facade;

namespace FastSidecar.Tests.Protocol;

/// <summary>
/// RFC 7692 §6–7 on the receiving side, one rule per test: the BCL's <see cref="DeflateStream"/> is the independent
/// compressor (a sync flush with the tail removed, as the RFC's senders do), our reader the inflater. Run alone: the
/// steady-state allocation test takes its arrays from the process-wide size classes, which a test running beside it
/// can empty (a clean run once measured 6,592 B that way), and the bomb test is timed.
/// </summary>
[Collection(ResourceCountingGroup.Name)]
public sealed class PerMessageDeflateReaderTests : IDisposable
{
    private const WebSocketRole Client = WebSocketRole.Client;
    private readonly SidecarBufferPool _pool = new();
    private readonly MessageInflater _inflater = new();

    public PerMessageDeflateReaderTests() => _inflater.Start(15, contextTakeover: true);

    public void Dispose()
    {
        _inflater.Dispose();
        Assert.Equal(0, _pool.Outstanding);
    }

    /// <summary>A BCL compressor kept across messages: context takeover, like a server that keeps its context.</summary>
    private sealed class BclSender : IDisposable
    {
        private readonly MemoryStream _sink = new();
        private readonly DeflateStream _deflate;

        public BclSender(CompressionLevel level = CompressionLevel.Optimal) => _deflate = new DeflateStream(_sink, level, leaveOpen: true);

        public byte[] Compress(ReadOnlySpan<byte> message)
        {
            _sink.SetLength(0);
            _deflate.Write(message);
            _deflate.Flush(); // Z_SYNC_FLUSH: ends in 00 00 FF FF
            byte[] all = _sink.ToArray();
            Assert.True(all.AsSpan(all.Length - 4).SequenceEqual(PerMessageDeflate.Tail));
            return all[..^4];
        }

        public void Dispose() => _deflate.Dispose();
    }

    private static byte[] Frame(Opcode opcode, bool fin, byte rsv, ReadOnlySpan<byte> payload)
    {
        var writer = new ArrayBufferWriter<byte>();
        FrameWriter.WriteFrame(writer, opcode, fin, rsv, payload, mask: false, 0);
        return writer.WrittenSpan.ToArray();
    }

    private static byte[] Compressed(Opcode opcode, ReadOnlySpan<byte> compressed) => Frame(opcode, fin: true, FrameReader.Rsv1, compressed);

    private List<ReadEvent> Read(byte[] stream, long maxMessageSize = 64 << 20)
    {
        using var reader = new FrameReader(Client, maxMessageSize, _pool);
        reader.EnablePerMessageDeflate(_inflater);
        var sequence = new ReadOnlySequence<byte>(stream);
        return Frames.ReadAll(reader, _pool, ref sequence);
    }

    private WebSocketCloseCode Violation(byte[] stream, long maxMessageSize = 64 << 20)
    {
        var failure = Assert.Throws<WebSocketProtocolException>(() => Read(stream, maxMessageSize));
        return failure.CloseCode!.Value;
    }

    private static byte[] Json(int length)
    {
        var text = new StringBuilder();
        for (int i = 0; text.Length < length; i++)
        {
            text.Append("{\"s\":\"EURUSD\",\"bid\":1.0").Append(i % 97).Append(",\"ask\":1.0").Append((i * 7) % 89).Append(",\"t\":").Append(1_700_000_000 + i).Append("},");
        }

        return Encoding.UTF8.GetBytes(text.ToString(0, length));
    }

    [Fact]
    public void Compressed_text_message_with_RSV1_is_inflated()
    {
        using var sender = new BclSender();
        byte[] message = Json(5000);
        ReadEvent read = Assert.Single(Read(Compressed(Opcode.Text, sender.Compress(message))));
        Assert.Equal(MessageType.Text, read.Type);
        Assert.Equal(message, read.Payload);
    }

    [Fact]
    public void Context_taken_over_from_the_previous_message_inflates()
    {
        using var sender = new BclSender();
        byte[] first = Json(3000);
        byte[] secondCompressed = sender.Compress(first); // the second copy refers back into the first
        byte[] thirdCompressed = sender.Compress(first);
        Assert.True(thirdCompressed.Length < secondCompressed.Length / 4);
        List<ReadEvent> events = Read(Frames.Concat(Compressed(Opcode.Binary, secondCompressed), Compressed(Opcode.Binary, thirdCompressed)));
        Assert.Equal(2, events.Count);
        Assert.All(events, e => Assert.Equal(first, e.Payload));
    }

    [Fact]
    public void Uncompressed_message_between_compressed_ones_passes_through()
    {
        using var sender = new BclSender();
        byte[] message = Json(2000);
        List<ReadEvent> events = Read(Frames.Concat(
            Compressed(Opcode.Text, sender.Compress(message)),
            Frame(Opcode.Text, fin: true, rsv: 0, "plain"u8),
            Compressed(Opcode.Text, sender.Compress(message))));
        Assert.Equal(["plain"], events.Where(e => e.Payload.Length == 5).Select(e => Encoding.UTF8.GetString(e.Payload)));
        Assert.Equal(2, events.Count(e => e.Payload.AsSpan().SequenceEqual(message)));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(256)]
    public void Fragmented_compressed_message_with_a_ping_between_fragments_is_inflated(int fragmentSize)
    {
        using var sender = new BclSender();
        byte[] message = Json(20_000);
        byte[] compressed = sender.Compress(message);
        var frames = new List<byte[]>();
        for (int offset = 0; offset < compressed.Length; offset += fragmentSize)
        {
            int length = Math.Min(fragmentSize, compressed.Length - offset);
            bool first = offset == 0, last = offset + length == compressed.Length;
            frames.Add(Frame(first ? Opcode.Text : Opcode.Continuation, last, first ? FrameReader.Rsv1 : (byte)0, compressed.AsSpan(offset, length)));
            if (first)
            {
                frames.Add(Frame(Opcode.Ping, fin: true, rsv: 0, "between"u8));
            }
        }

        List<ReadEvent> events = Read(Frames.Concat([.. frames]));
        Assert.Equal(FrameReadStatus.Ping, events[0].Status);
        Assert.Equal(message, events[1].Payload);
    }

    [Fact]
    public void Compressed_bytes_arriving_one_at_a_time_are_inflated()
    {
        using var sender = new BclSender();
        byte[] message = Json(4000);
        byte[] stream = Compressed(Opcode.Text, sender.Compress(message));
        using var reader = new FrameReader(Client, 64 << 20, _pool);
        reader.EnablePerMessageDeflate(_inflater);
        var events = new List<ReadEvent>();
        byte[] leftover = [];
        foreach (byte b in stream)
        {
            var sequence = new ReadOnlySequence<byte>([.. leftover, b]);
            events.AddRange(Frames.ReadAll(reader, _pool, ref sequence));
            leftover = sequence.ToArray();
        }

        Assert.Equal(message, Assert.Single(events).Payload);
    }

    [Fact]
    public void Empty_compressed_message_is_an_empty_message()
    {
        // §7.2.3.6: an empty message may be sent as a single 0x00 octet (an empty stored block's start).
        ReadEvent read = Assert.Single(Read(Compressed(Opcode.Binary, [0x00])));
        Assert.Empty(read.Payload);
    }

    [Fact]
    public void RSV1_on_a_continuation_frame_is_1002()
    {
        using var sender = new BclSender();
        byte[] compressed = sender.Compress(Json(1000));
        byte[] stream = Frames.Concat(
            Frame(Opcode.Text, fin: false, FrameReader.Rsv1, compressed.AsSpan(0, 10)),
            Frame(Opcode.Continuation, fin: true, FrameReader.Rsv1, compressed.AsSpan(10)));
        Assert.Equal(WebSocketCloseCode.ProtocolError, Violation(stream));
    }

    [Theory]
    [InlineData((int)Opcode.Ping)]
    [InlineData((int)Opcode.Pong)]
    [InlineData((int)Opcode.Close)]
    public void RSV1_on_a_control_frame_is_1002(int opcode)
    {
        Assert.Equal(WebSocketCloseCode.ProtocolError, Violation(Frame((Opcode)opcode, fin: true, FrameReader.Rsv1, [0x03, 0xE8])));
    }

    [Theory]
    [InlineData(0b_010)]
    [InlineData(0b_001)]
    [InlineData(0b_110)]
    public void RSV2_or_RSV3_with_deflate_negotiated_is_1002(int rsv)
    {
        Assert.Equal(WebSocketCloseCode.ProtocolError, Violation(Frame(Opcode.Binary, fin: true, (byte)rsv, [0x00])));
    }

    [Fact]
    public void RSV1_without_negotiation_is_still_1002()
    {
        using var sender = new BclSender();
        byte[] stream = Compressed(Opcode.Text, sender.Compress(Json(100)));
        Assert.Equal(WebSocketCloseCode.ProtocolError, Assert.Throws<WebSocketProtocolException>(() => Frames.ReadAll(Client, stream)).CloseCode);
    }

    [Fact]
    public void Corrupt_deflate_stream_is_1007()
    {
        // BTYPE 11 is reserved in RFC 1951 §3.2.3: no inflater may accept it.
        Assert.Equal(WebSocketCloseCode.InvalidPayloadData, Violation(Compressed(Opcode.Binary, [0b_0000_0111, 0xFF, 0xFF, 0xFF])));
    }

    [Fact]
    public void Data_after_a_final_block_is_1007()
    {
        using var sink = new MemoryStream();
        using (var deflate = new DeflateStream(sink, CompressionLevel.Fastest, leaveOpen: true))
        {
            deflate.Write("final"u8);
        }

        byte[] withGarbage = [.. sink.ToArray(), 0x42, 0x42];
        Assert.Equal(WebSocketCloseCode.InvalidPayloadData, Violation(Compressed(Opcode.Binary, withGarbage)));
    }

    [Fact]
    public void A_final_block_ends_the_message_and_the_next_one_inflates()
    {
        // §7.2.3.3: a sender may end with BFINAL; the tail is then not appended, and the next message starts afresh.
        using var sink = new MemoryStream();
        using (var deflate = new DeflateStream(sink, CompressionLevel.Fastest, leaveOpen: true))
        {
            deflate.Write("final"u8);
        }

        using var next = new BclSender();
        List<ReadEvent> events = Read(Frames.Concat(Compressed(Opcode.Text, sink.ToArray()), Compressed(Opcode.Text, next.Compress("again"u8))));
        Assert.Equal(["final", "again"], events.Select(e => Encoding.UTF8.GetString(e.Payload)));
    }

    [Fact]
    public void Invalid_UTF8_inside_compressed_text_is_1007()
    {
        using var sender = new BclSender();
        Assert.Equal(WebSocketCloseCode.InvalidPayloadData, Violation(Compressed(Opcode.Text, sender.Compress([0x68, 0xC3, 0x28, 0x69]))));
    }

    [Fact]
    public void Message_inflating_to_exactly_the_limit_is_accepted_and_one_byte_more_is_1009()
    {
        const int Limit = 100_000;
        using (var sender = new BclSender())
        {
            Assert.Equal(Limit, Assert.Single(Read(Compressed(Opcode.Binary, sender.Compress(new byte[Limit])), Limit)).Payload.Length);
        }

        _inflater.Reset();
        using (var sender = new BclSender())
        {
            Assert.Equal(WebSocketCloseCode.MessageTooBig, Violation(Compressed(Opcode.Binary, sender.Compress(new byte[Limit + 1])), Limit));
        }
    }

    [Fact]
    public void Decompression_bomb_fails_with_1009_at_the_limit_without_inflating_the_rest()
    {
        // 1 GiB of zeros deflates to about 1 MiB; with a 1 MiB limit the reader must stop after inflating 1 MiB.
        const int Limit = 1 << 20;
        using var sink = new MemoryStream();
        using (var deflate = new DeflateStream(sink, CompressionLevel.Optimal, leaveOpen: true))
        {
            byte[] zeros = new byte[1 << 20];
            for (int i = 0; i < 1024; i++)
            {
                deflate.Write(zeros);
            }

            deflate.Flush();
        }

        byte[] bomb = Compressed(Opcode.Binary, sink.ToArray());
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        Assert.Equal(WebSocketCloseCode.MessageTooBig, Violation(bomb, Limit));
        clock.Stop();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;

        // Inflating all of it would take seconds and a gigabyte; the limit's worth takes a few milliseconds.
        Assert.True(clock.Elapsed < TimeSpan.FromMilliseconds(500), $"took {clock.Elapsed}");
        Assert.True(allocated < 4 * Limit, $"allocated {allocated} bytes");
    }

    [Fact]
    public void Inflating_in_steady_state_allocates_nothing()
    {
        using var sender = new BclSender();
        byte[][] stream = [.. Enumerable.Range(0, 600).Select(i => Compressed(Opcode.Text, sender.Compress(Json(100 + (i * 37 % 2000)))))];
        using var reader = new FrameReader(Client, 64 << 20, _pool);
        reader.EnablePerMessageDeflate(_inflater);

        void ReadRange(int from, int to)
        {
            for (int i = from; i < to; i++)
            {
                var sequence = new ReadOnlySequence<byte>(stream[i]);
                // Not Assert.Equal: its comparer would be the only allocation measured.
                if (reader.Read(ref sequence, out InboundMessage message) != FrameReadStatus.Message)
                {
                    throw new InvalidOperationException($"message {i} did not complete");
                }

                _pool.Return(message.Buffer);
            }
        }

        ReadRange(0, 100); // warm the pool's size classes and the JIT
        long before = GC.GetAllocatedBytesForCurrentThread();
        ReadRange(100, 600);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
