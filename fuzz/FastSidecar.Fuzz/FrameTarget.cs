using System.Buffers;
using System.Buffers.Binary;
using System.Text.Unicode;
using FastSidecar.Buffers;
using FastSidecar.Protocol;

namespace FastSidecar.Fuzz;

/// <summary>
/// Feeds arbitrary bytes to <see cref="FrameReader.Read"/> in either role and checks the reader's contracts.
/// </summary>
/// <remarks>
/// <para>
/// Input layout: byte 0 is the control byte. Bit 7 picks the role (set: server, which expects masked frames); bits 0–6
/// pick a cut point, <c>length * (control &amp; 0x7F) / 128</c>. The rest of the input is the byte stream.
/// </para>
/// <para>
/// The same stream is parsed several ways: as one segment (the reference), as two segments cut at the cut point, as
/// two deliveries (the bytes before the cut, then the rest appended to what the reader left unconsumed, as a pipe
/// would), and, for short inputs, one byte per delivery. Every way must produce the same events and the same
/// ending; a difference is a finding, as is any exception other than <see cref="WebSocketProtocolException"/>,
/// a broken buffer contract, a pooled buffer not returned after <see cref="FrameReader.Dispose"/>, a message over the
/// limit, or more allocation than the limit can explain.
/// </para>
/// </remarks>
internal static class FrameTarget
{
    /// <summary>Small enough that a reader trusting an announced length would allocate visibly more.</summary>
    public const int MaxMessageSize = 1 << 20;

    /// <summary>Inputs up to this length are also delivered one byte at a time.</summary>
    private const int BytewiseLimit = 512;

    public static void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }

        byte control = input[0];
        WebSocketRole role = (control & 0x80) != 0 ? WebSocketRole.Server : WebSocketRole.Client;
        byte[] data = input[1..].ToArray();
        int cut = (int)((long)data.Length * (control & 0x7F) / 128);

        Outcome reference = Parse(role, data, Delivery.Whole, cut);
        Compare(reference, Parse(role, data, Delivery.TwoSegments, cut), "two segments", cut);
        Compare(reference, Parse(role, data, Delivery.TwoDeliveries, cut), "two deliveries", cut);
        if (data.Length <= BytewiseLimit)
        {
            Compare(reference, Parse(role, data, Delivery.Bytewise, cut), "one byte per delivery", cut);
        }
    }

    private enum Delivery
    {
        Whole,
        TwoSegments,
        TwoDeliveries,
        Bytewise,
    }

    /// <summary>One observable event: the status and a digest of what came with it.</summary>
    private readonly record struct Event(FrameReadStatus Status, MessageType Type, int Length, int Digest, ushort CloseCode);

    /// <summary>All events, then how parsing ended: the refusal (close code and reason) or the bytes left unconsumed.</summary>
    private sealed record Outcome(List<Event> Events, WebSocketCloseCode? Refusal, string? RefusalMessage, long Unconsumed);

    private static Outcome Parse(WebSocketRole role, byte[] data, Delivery delivery, int cut)
    {
        var pool = new SidecarBufferPool();
        var events = new List<Event>();
        WebSocketCloseCode? refusal = null;
        string? refusalMessage = null;
        long unconsumed = 0;

        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        using (var reader = new FrameReader(role, MaxMessageSize, pool))
        {
            var state = new ReadState(reader, pool, events);
            try
            {
                switch (delivery)
                {
                    case Delivery.Whole:
                        unconsumed = state.Drain(new ReadOnlySequence<byte>(data));
                        break;
                    case Delivery.TwoSegments:
                        unconsumed = state.Drain(FuzzSegment.Sequence(data.AsMemory(0, cut), data.AsMemory(cut)));
                        break;
                    case Delivery.TwoDeliveries:
                        unconsumed = state.Deliver(data, [cut, data.Length]);
                        break;
                    case Delivery.Bytewise:
                        unconsumed = state.Deliver(data, Enumerable.Range(1, data.Length));
                        break;
                }
            }
            catch (WebSocketProtocolException refused)
            {
                // Refusing is the reader's job; what matters is that every way of parsing refuses alike.
                refusal = refused.CloseCode;
                refusalMessage = refused.Message;
            }
        }

        if (pool.Outstanding != 0)
        {
            throw new InvalidOperationException($"{delivery}: {pool.Outstanding} pooled buffer(s) not returned after Dispose.");
        }

        // Everything the reader may legitimately allocate: a doubling series of message buffers up to the limit, an
        // exception, and this harness's own bookkeeping. A reader that rents what a header announces breaks this.
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        long allowed = (4L * MaxMessageSize) + (64L * data.Length) + (256 * 1024);
        if (allocated > allowed)
        {
            throw new InvalidOperationException($"{delivery}: allocated {allocated} bytes for {data.Length} input bytes (allowed {allowed}).");
        }

        return new Outcome(events, refusal, refusalMessage, unconsumed);
    }

    private static void Compare(Outcome expected, Outcome actual, string how, int cut)
    {
        string where = $"{how} (cut at {cut})";
        int common = Math.Min(expected.Events.Count, actual.Events.Count);
        for (int i = 0; i < common; i++)
        {
            if (expected.Events[i] != actual.Events[i])
            {
                throw new InvalidOperationException($"{where}: event {i} is {actual.Events[i]}, one segment gave {expected.Events[i]}.");
            }
        }

        if (expected.Events.Count != actual.Events.Count)
        {
            throw new InvalidOperationException($"{where}: {actual.Events.Count} events, one segment gave {expected.Events.Count}.");
        }

        if (expected.Refusal != actual.Refusal || expected.RefusalMessage != actual.RefusalMessage)
        {
            throw new InvalidOperationException(
                $"{where}: ended with {actual.Refusal} \"{actual.RefusalMessage}\", one segment ended with {expected.Refusal} \"{expected.RefusalMessage}\".");
        }

        if (expected.Refusal is null && expected.Unconsumed != actual.Unconsumed)
        {
            throw new InvalidOperationException($"{where}: left {actual.Unconsumed} bytes unconsumed, one segment left {expected.Unconsumed}.");
        }
    }

    /// <summary>Calls <see cref="FrameReader.Read"/> until it needs more data, checking each result.</summary>
    private sealed class ReadState(FrameReader reader, SidecarBufferPool pool, List<Event> events)
    {
        private bool _closed;

        /// <summary>Delivers <paramref name="data"/> up to each limit in turn, as a pipe would: unconsumed bytes stay in front.</summary>
        public long Deliver(byte[] data, IEnumerable<int> limits)
        {
            int consumed = 0;
            foreach (int limit in limits)
            {
                long left = Drain(new ReadOnlySequence<byte>(data, consumed, limit - consumed));
                consumed = limit - (int)left;
            }

            return data.Length - consumed;
        }

        /// <summary>Reads every event out of <paramref name="buffer"/>; returns how many bytes were left unconsumed.</summary>
        public long Drain(ReadOnlySequence<byte> buffer)
        {
            // Each event consumes at least one byte, so this bounds a reader that loops without progress.
            long budget = buffer.Length + 2;
            while (true)
            {
                if (--budget < 0)
                {
                    throw new InvalidOperationException("Read keeps returning events without running out of input.");
                }

                ReadOnlySequence<byte> before = buffer;
                FrameReadStatus status = reader.Read(ref buffer, out InboundMessage message);
                long consumed = before.Length - buffer.Length;
                if (consumed < 0 || !buffer.End.Equals(before.End))
                {
                    throw new InvalidOperationException("Read must only slice bytes off the front of the buffer.");
                }

                if (status == FrameReadStatus.NeedMoreData)
                {
                    if (_closed ? consumed != 0 : buffer.Length >= FrameHeader.MaxLength)
                    {
                        throw new InvalidOperationException(_closed
                            ? "Read consumed bytes after a close frame."
                            : $"Read needs more data but left {buffer.Length} bytes, more than a partial header.");
                    }

                    return buffer.Length;
                }

                if (consumed == 0)
                {
                    throw new InvalidOperationException($"Read returned {status} without consuming a byte.");
                }

                events.Add(Check(status, message));
            }
        }

        private Event Check(FrameReadStatus status, InboundMessage message)
        {
            switch (status)
            {
                case FrameReadStatus.Message:
                {
                    byte[] buffer = message.Buffer ?? throw new InvalidOperationException("A message without a buffer.");
                    if (message.Length < 0 || message.Length > MaxMessageSize || message.Length > buffer.Length)
                    {
                        throw new InvalidOperationException($"A message of {message.Length} bytes in a buffer of {buffer.Length} (limit {MaxMessageSize}).");
                    }

                    if (message.Type == MessageType.Text && !Utf8.IsValid(message.Span))
                    {
                        throw new InvalidOperationException("A text message that is not valid UTF-8 was accepted.");
                    }

                    var digest = new Event(status, message.Type, message.Length, Digest(message.Span), 0);
                    if (!pool.TryReturn(buffer))
                    {
                        throw new InvalidOperationException("A message buffer the pool does not consider rented (handed out twice?).");
                    }

                    return digest;
                }

                case FrameReadStatus.Ping or FrameReadStatus.Pong:
                    if (reader.ControlPayload.Length > 125)
                    {
                        throw new InvalidOperationException("A control payload longer than 125 bytes.");
                    }

                    return new Event(status, 0, reader.ControlPayload.Length, Digest(reader.ControlPayload), 0);

                case FrameReadStatus.Close:
                {
                    ReadOnlySpan<byte> payload = reader.ControlPayload;
                    ushort code = reader.CloseCode;
                    bool consistent = payload.IsEmpty
                        ? code == (ushort)WebSocketCloseCode.Empty && reader.CloseReason.IsEmpty
                        : payload.Length >= 2 && code == BinaryPrimitives.ReadUInt16BigEndian(payload) && CloseCodes.IsValidOnWire(code)
                            && reader.CloseReason.SequenceEqual(payload[2..]) && Utf8.IsValid(reader.CloseReason);
                    if (!consistent)
                    {
                        throw new InvalidOperationException($"Close {code} with a {payload.Length}-byte payload is not what the frame held.");
                    }

                    _closed = true;
                    return new Event(status, 0, payload.Length, Digest(payload), code);
                }

                default:
                    throw new InvalidOperationException($"Unknown status {status}.");
            }
        }

        private static int Digest(ReadOnlySpan<byte> bytes)
        {
            var hash = new HashCode();
            hash.AddBytes(bytes);
            return hash.ToHashCode();
        }
    }
}
