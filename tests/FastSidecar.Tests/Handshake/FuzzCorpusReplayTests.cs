using System.Buffers;
using FastSidecar.Protocol.Handshake;

namespace FastSidecar.Tests.Handshake;

/// <summary>
/// Replays the handshake fuzz corpus (fuzz/corpus/handshake, copied next to the tests) the way the harness does:
/// the first byte of a file picks the segment split, the rest is the server's answer.
/// </summary>
public class FuzzCorpusReplayTests
{
    private static readonly string CorpusDirectory = Path.Combine(AppContext.BaseDirectory, "corpus", "handshake");

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
    public void Corpus_is_present() => Assert.True(CorpusFiles().Count >= 12, $"expected the seed corpus in {CorpusDirectory}");

    [Theory]
    [MemberData(nameof(CorpusFiles))]
    public void Corpus_input_either_succeeds_or_fails_with_a_handshake_exception(string name)
    {
        byte[] input = File.ReadAllBytes(Path.Combine(CorpusDirectory, name));
        Assert.NotEmpty(input);

        byte control = input[0];
        byte[] data = input[1..];
        int segments = 1 + (control % 3);
        int first = data.Length * ((control >> 2) & 7) / 8;
        int second = segments == 3 ? first + ((data.Length - first) * ((control >> 5) & 7) / 8) : data.Length;
        ReadOnlySequence<byte> original = segments == 1 || data.Length < 2
            ? new ReadOnlySequence<byte>(data)
            : segments == 2 ? BufferSegment.Sequence(data[..first], data[first..]) : BufferSegment.Sequence(data[..first], data[first..second], data[second..]);

        var client = new ClientHandshake(new Uri("ws://example.com/chat"), ["chat", "superchat"], [], maxHeaderBytes: 2048);
        client.WriteRequest(new ArrayBufferWriter<byte>(), "the sample nonce"u8);

        ReadOnlySequence<byte> buffer = original;
        try
        {
            if (client.TryReadResponse(ref buffer, out _))
            {
                Assert.True(buffer.End.Equals(original.End));
            }
            else
            {
                Assert.Equal(original, buffer);
            }
        }
        catch (WebSocketHandshakeException)
        {
            // Refusing is a valid outcome; any other exception fails the test.
        }
    }
}
