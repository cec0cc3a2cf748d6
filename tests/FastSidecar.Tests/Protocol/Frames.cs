using System.Buffers;
using FastSidecar.Buffers;
using FastSidecar.Protocol;

namespace FastSidecar.Tests.Protocol;

/// <summary>What the reader reported, in a form tests can compare.</summary>
internal sealed record ReadEvent(FrameReadStatus Status, MessageType? Type, byte[] Payload, ushort CloseCode = 0)
{
    public bool Same(ReadEvent other) =>
        Status == other.Status && Type == other.Type && CloseCode == other.CloseCode && Payload.AsSpan().SequenceEqual(other.Payload);
}

/// <summary>Frame builders and a driver that runs a reader to exhaustion.</summary>
internal static class Frames
{
    public static byte[] Build(Opcode opcode, bool fin, ReadOnlySpan<byte> payload, bool mask, int maskKey = 0x1234_5678)
    {
        var writer = new ArrayBufferWriter<byte>();
        FrameWriter.WriteFrame(writer, opcode, fin, payload, mask, maskKey);
        return writer.WrittenSpan.ToArray();
    }

    public static byte[] Concat(params byte[][] parts) => [.. parts.SelectMany(p => p)];

    /// <summary>Reads every event in <paramref name="sequence"/>; message buffers are copied and returned to the pool.</summary>
    public static List<ReadEvent> ReadAll(FrameReader reader, SidecarBufferPool pool, ref ReadOnlySequence<byte> sequence)
    {
        var events = new List<ReadEvent>();
        while (true)
        {
            FrameReadStatus status = reader.Read(ref sequence, out InboundMessage message);
            switch (status)
            {
                case FrameReadStatus.NeedMoreData:
                    return events;
                case FrameReadStatus.Message:
                    events.Add(new ReadEvent(status, message.Type, message.Span.ToArray()));
                    pool.Return(message.Buffer);
                    break;
                case FrameReadStatus.Close:
                    events.Add(new ReadEvent(status, null, reader.ControlPayload.ToArray(), reader.CloseCode));
                    return events;
                default:
                    events.Add(new ReadEvent(status, null, reader.ControlPayload.ToArray()));
                    break;
            }
        }
    }

    public static List<ReadEvent> ReadAll(WebSocketRole role, byte[] stream, long maxMessageSize = 64 << 20)
    {
        var pool = new SidecarBufferPool();
        List<ReadEvent> events;
        using (var reader = new FrameReader(role, maxMessageSize, pool))
        {
            var sequence = new ReadOnlySequence<byte>(stream);
            events = ReadAll(reader, pool, ref sequence);
        }

        Assert.Equal(0, pool.Outstanding);
        return events;
    }

    /// <summary>Feeds the stream chunk by chunk as a socket would, carrying unconsumed bytes into the next read.</summary>
    public static List<ReadEvent> ReadIncrementally(WebSocketRole role, ReadOnlyMemory<byte>[] chunks, long maxMessageSize = 64 << 20)
    {
        var pool = new SidecarBufferPool();
        var events = new List<ReadEvent>();
        using (var reader = new FrameReader(role, maxMessageSize, pool))
        {
            byte[] leftover = [];
            foreach (ReadOnlyMemory<byte> chunk in chunks)
            {
                ReadOnlySequence<byte> sequence = leftover.Length == 0
                    ? BufferSegment.Sequence(chunk)
                    : BufferSegment.Sequence(leftover, chunk);
                events.AddRange(ReadAll(reader, pool, ref sequence));
                Assert.True(sequence.Length < FrameHeader.MaxLength, "only a partial header may stay unconsumed");
                leftover = sequence.ToArray();
            }
        }

        Assert.Equal(0, pool.Outstanding);
        return events;
    }

    /// <summary>Runs the reader over <paramref name="stream"/> and returns the close code it failed with.</summary>
    public static WebSocketCloseCode Violation(WebSocketRole role, byte[] stream, long maxMessageSize = 1 << 20)
    {
        var pool = new SidecarBufferPool();
        WebSocketProtocolException ex;
        using (var reader = new FrameReader(role, maxMessageSize, pool))
        {
            ex = Assert.Throws<WebSocketProtocolException>(() =>
            {
                var sequence = new ReadOnlySequence<byte>(stream);
                ReadAll(reader, pool, ref sequence);
            });
        }

        Assert.Equal(0, pool.Outstanding);
        return ex.ViolationCode;
    }
}
