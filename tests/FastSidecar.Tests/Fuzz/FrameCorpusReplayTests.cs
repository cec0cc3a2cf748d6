using System.Buffers;
using System.Buffers.Binary;
using System.Text.Unicode;
using FastSidecar.Buffers;
using FastSidecar.Protocol;
using FastSidecar.Tests.Protocol;

namespace FastSidecar.Tests.Fuzz;

/// <summary>
/// Replays the frames fuzz corpus (fuzz/corpus/frames, copied next to the tests) with the harness's checks: byte 0
/// picks the role (bit 7 set: server) and a cut point (bits 0–6, in 128ths of the rest); the rest is the byte stream.
/// </summary>
/// <remarks>
/// Each file is parsed whole, then split into segments and deliveries in several ways. Only a
/// <see cref="WebSocketProtocolException"/> may escape, every way must give the same events and the same ending, and
/// no pooled buffer may be left out after the reader is disposed.
/// </remarks>
public class FrameCorpusReplayTests
{
    private const int MaxMessageSize = 1 << 20;

    private static readonly string CorpusDirectory = Path.Combine(AppContext.BaseDirectory, "corpus", "frames");

    public static TheoryData<string> CorpusFiles()
    {
        var data = new TheoryData<string>();
        foreach (string file in Directory.EnumerateFiles(CorpusDirectory).Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    [Fact]
    public void Corpus_is_present() => Assert.True(CorpusFiles().Count >= 17, $"expected the seed corpus in {CorpusDirectory}");

    [Theory]
    [InlineData("text", "Text 48656C6C6F\nunconsumed 0")]
    [InlineData("fragmented-text-masked", "Text 68C3A96C6C6F20E282ACF09F9880\nPong 706F6E67\nunconsumed 0")]
    [InlineData("close-reason", "Close 4000 0FA0636166C3A9\nunconsumed 13")]
    [InlineData("truncated-payload", "unconsumed 0")]
    [InlineData("too-big-127", "refused MessageTooBig: A message exceeded the limit of 1048576 bytes.")]
    [InlineData("unmasked-to-server", "refused ProtocolError: The client sent an unmasked frame.")]
    public void Seed_reaches_what_it_was_written_for(string name, string expected)
    {
        byte[] input = File.ReadAllBytes(Path.Combine(CorpusDirectory, name));
        WebSocketRole role = (input[0] & 0x80) != 0 ? WebSocketRole.Server : WebSocketRole.Client;
        Assert.Equal(expected, Parse(role, new ReadOnlySequence<byte>(input.AsMemory(1))));
    }

    [Fact]
    public void Fragmented_seed_grows_its_buffer_across_continuations_around_a_ping()
    {
        byte[] input = File.ReadAllBytes(Path.Combine(CorpusDirectory, "fragmented-growth"));
        string[] transcript = Parse(WebSocketRole.Client, new ReadOnlySequence<byte>(input.AsMemory(1))).Split('\n');
        Assert.Equal(["Ping 6D6964", $"Binary {new string('0', 2 * 5310)}656E64", "unconsumed 0"], transcript);
    }

    [Theory]
    [MemberData(nameof(CorpusFiles))]
    public void Corpus_input_parses_alike_however_it_is_split_and_returns_every_buffer(string name)
    {
        byte[] input = File.ReadAllBytes(Path.Combine(CorpusDirectory, name));
        Assert.NotEmpty(input);

        byte control = input[0];
        WebSocketRole role = (control & 0x80) != 0 ? WebSocketRole.Server : WebSocketRole.Client;
        byte[] data = input[1..];
        int cut = (int)((long)data.Length * (control & 0x7F) / 128);

        string reference = Parse(role, new ReadOnlySequence<byte>(data));
        Assert.Equal(reference, Parse(role, BufferSegment.Sequence(BufferSegment.Cut(data, [cut]))));
        Assert.Equal(reference, Parse(role, BufferSegment.Sequence(BufferSegment.Cut(data, [data.Length / 3, 2 * data.Length / 3]))));
        Assert.Equal(reference, ParseDelivered(role, data, [cut, data.Length]));
        Assert.Equal(reference, ParseDelivered(role, data, [data.Length / 2, data.Length]));
        if (data.Length <= 4096)
        {
            Assert.Equal(reference, ParseDelivered(role, data, Enumerable.Range(1, data.Length)));
        }
    }

    /// <summary>Parses one sequence on a fresh reader; returns a transcript of the events and the ending.</summary>
    private static string Parse(WebSocketRole role, ReadOnlySequence<byte> sequence) =>
        WithReader(role, (reader, pool, transcript) => Drain(reader, pool, sequence, transcript));

    /// <summary>Delivers the bytes up to each limit in turn, keeping what the reader left unconsumed in front, as a pipe does.</summary>
    private static string ParseDelivered(WebSocketRole role, byte[] data, IEnumerable<int> limits) =>
        WithReader(role, (reader, pool, transcript) =>
        {
            int consumed = 0;
            foreach (int limit in limits)
            {
                long left = Drain(reader, pool, new ReadOnlySequence<byte>(data, consumed, limit - consumed), transcript);
                consumed = limit - (int)left;
            }

            return data.Length - consumed;
        });

    private static string WithReader(WebSocketRole role, Func<FrameReader, SidecarBufferPool, List<string>, long> parse)
    {
        var pool = new SidecarBufferPool();
        var transcript = new List<string>();
        using (var reader = new FrameReader(role, MaxMessageSize, pool))
        {
            try
            {
                transcript.Add($"unconsumed {parse(reader, pool, transcript)}");
            }
            catch (WebSocketProtocolException refused)
            {
                // Refusing is a valid ending; any other exception fails the test.
                transcript.Add($"refused {refused.CloseCode}: {refused.Message}");
            }
        }

        Assert.Equal(0, pool.Outstanding);
        return string.Join('\n', transcript);
    }

    private static long Drain(FrameReader reader, SidecarBufferPool pool, ReadOnlySequence<byte> buffer, List<string> transcript)
    {
        for (long budget = buffer.Length + 2; budget > 0; budget--)
        {
            long before = buffer.Length;
            FrameReadStatus status = reader.Read(ref buffer, out InboundMessage message);
            if (status == FrameReadStatus.NeedMoreData)
            {
                return buffer.Length;
            }

            Assert.True(buffer.Length < before, $"{status} consumed nothing");
            switch (status)
            {
                case FrameReadStatus.Message:
                    Assert.InRange(message.Length, 0, MaxMessageSize);
                    Assert.True(message.Type != MessageType.Text || Utf8.IsValid(message.Span), "invalid UTF-8 accepted");
                    transcript.Add($"{message.Type} {Convert.ToHexString(message.Span)}");
                    Assert.True(pool.TryReturn(message.Buffer), "message buffer not rented from the pool");
                    break;
                case FrameReadStatus.Close:
                    ReadOnlySpan<byte> payload = reader.ControlPayload;
                    Assert.Equal(payload.IsEmpty ? (ushort)1005 : BinaryPrimitives.ReadUInt16BigEndian(payload), reader.CloseCode);
                    Assert.True(Utf8.IsValid(reader.CloseReason), "invalid close reason accepted");
                    transcript.Add($"Close {reader.CloseCode} {Convert.ToHexString(payload)}");
                    break;
                default:
                    Assert.InRange(reader.ControlPayload.Length, 0, 125);
                    transcript.Add($"{status} {Convert.ToHexString(reader.ControlPayload)}");
                    break;
            }
        }

        Assert.Fail("Read kept returning events past the end of its input");
        return 0;
    }
}
