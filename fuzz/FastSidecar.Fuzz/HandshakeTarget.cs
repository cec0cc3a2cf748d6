using System.Buffers;
using FastSidecar.Protocol.Handshake;

namespace FastSidecar.Fuzz;

/// <summary>
/// Feeds arbitrary bytes to <see cref="ClientHandshake.TryReadResponse"/> as a server's answer. A
/// <see cref="WebSocketHandshakeException"/> is the expected way to refuse; any other exception, or a broken
/// buffer contract, is a finding, and so is an outcome that changes when the same bytes arrive split into segments.
/// </summary>
internal static class HandshakeTarget
{
    // The RFC 6455 §1.3 sample nonce: its accept value appears in the seed corpus, so valid answers are reachable.
    private static readonly string[] s_offered = ["chat", "superchat"];
    private static readonly ClientHandshake s_client = CreateClient();

    public static void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }

        byte[] data = input[1..].ToArray();
        string whole = Parse(new ReadOnlySequence<byte>(data));
        string split = Parse(FuzzSegment.Split(input[0], data));
        if (whole != split)
        {
            throw new InvalidOperationException($"One segment gave \"{whole}\", split segments gave \"{split}\".");
        }
    }

    /// <summary>Parses one answer and describes the outcome, so that two ways of splitting it can be compared.</summary>
    private static string Parse(ReadOnlySequence<byte> original)
    {
        ReadOnlySequence<byte> buffer = original;
        try
        {
            if (!s_client.TryReadResponse(ref buffer, out string? subProtocol))
            {
                if (!buffer.Equals(original))
                {
                    throw new InvalidOperationException("Needing more data must leave the buffer untouched.");
                }

                return "need more";
            }

            if (buffer.Length > original.Length || !buffer.End.Equals(original.End))
            {
                throw new InvalidOperationException("A complete answer must only slice the front off the buffer.");
            }

            if (subProtocol is not null && Array.IndexOf(s_offered, subProtocol) < 0)
            {
                throw new InvalidOperationException($"Accepted subprotocol {subProtocol} that was never offered.");
            }

            return $"accepted {subProtocol}, {buffer.Length} bytes left";
        }
        catch (WebSocketHandshakeException refused)
        {
            // The parser refused the input; that is its job, as long as it refuses alike however the bytes arrive.
            return $"refused {refused.StatusCode}: {refused.Message}";
        }
    }

    private static ClientHandshake CreateClient()
    {
        // A small limit keeps the size check within reach of inputs the fuzzer actually generates.
        var client = new ClientHandshake(new Uri("ws://example.com/chat"), s_offered, [], maxHeaderBytes: 2048);
        client.WriteRequest(new ArrayBufferWriter<byte>(), "the sample nonce"u8);
        return client;
    }
}
