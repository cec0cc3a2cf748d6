using System.Globalization;
using System.Text;
using FastSidecar.Tests.Peers;

namespace FastSidecar.Tests.Interop;

/// <summary>One message the client sends to an echo peer, and what it expects back.</summary>
/// <param name="Payload">The bytes sent.</param>
/// <param name="Type">The type sent.</param>
/// <param name="Echoed">False for commands the peer consumes (fragment, ping) rather than echoes.</param>
/// <param name="PongPayload">For a ping command to a peer that pings: the payload the peer reports back in <c>@@pong:</c>.</param>
internal sealed record EchoStep(byte[] Payload, MessageType Type, bool Echoed, string? PongPayload = null);

/// <summary>
/// A seeded, reproducible stream of messages for an echo peer: mixed text and binary, sizes from 0 bytes to 1 MiB
/// weighted to small ones, some preceded by <c>@@fragment:n</c>, with <c>@@ping</c> commands in between.
/// </summary>
internal static class EchoWorkload
{
    public const int MaxSize = 1 << 20;

    // Characters of 1, 2, 3 and 4 UTF-8 bytes, so that text fragments split inside sequences on peers that split bytes.
    private static readonly string[] s_characters = ["a", "z", "0", " ", "\u00e9", "\u00f6", "\u0416", "\u2713", "\u20ac", "\u4e2d", "\U0001F600", "\U0001D11E"];

    public static List<EchoStep> Build(IEchoPeer peer, int seed, int messages, int maxSize, double fragmentShare, double pingShare)
    {
        var random = new Random(seed);
        var steps = new List<EchoStep>(messages * 2);
        var pings = 0;
        for (var i = 0; i < messages; i++)
        {
            // The edges always appear: an empty message and one of exactly the largest size, of both types.
            int size = i switch
            {
                0 => 0,
                1 => maxSize,
                2 => 0,
                3 => maxSize,
                _ => NextSize(random, maxSize),
            };
            MessageType type = i < 4 ? (i % 2 == 0 ? MessageType.Text : MessageType.Binary) : random.Next(2) == 0 ? MessageType.Text : MessageType.Binary;
            if (random.NextDouble() < fragmentShare)
            {
                int frames = random.Next(2, 9);
                steps.Add(new EchoStep(Encoding.UTF8.GetBytes(EchoProtocol.Fragment(frames)), MessageType.Text, Echoed: false));
            }

            steps.Add(new EchoStep(type == MessageType.Text ? TextPayload(random, size) : BinaryPayload(random, size), type, Echoed: true));

            if (random.NextDouble() < pingShare)
            {
                string payload = string.Create(CultureInfo.InvariantCulture, $"p{pings++}-{random.Next():x}");
                byte[] command = Encoding.UTF8.GetBytes(EchoProtocol.Ping(payload));
                // A peer that cannot ping on demand echoes the command like any text.
                steps.Add(peer.SupportsServerPing
                    ? new EchoStep(command, MessageType.Text, Echoed: false, PongPayload: payload)
                    : new EchoStep(command, MessageType.Text, Echoed: true));
            }
        }

        return steps;
    }

    public static long TotalBytes(IEnumerable<EchoStep> steps) => steps.Sum(s => (long)s.Payload.Length);

    /// <summary>Weighted to small sizes: most messages fit a 7-bit length, a few use every larger encoding up to the maximum.</summary>
    private static int NextSize(Random random, int maxSize)
    {
        double roll = random.NextDouble();
        (int low, int high) = roll switch
        {
            < 0.55 => (0, 126),
            < 0.85 => (126, 4096),
            < 0.96 => (4096, 65537),
            < 0.995 => (65537, 262145),
            _ => (262145, maxSize + 1),
        };
        return random.Next(Math.Min(low, maxSize), Math.Min(high, maxSize + 1));
    }

    private static byte[] BinaryPayload(Random random, int size)
    {
        var bytes = new byte[size];
        random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>Valid UTF-8 of exactly <paramref name="size"/> bytes (padded with ASCII), never starting with the command prefix.</summary>
    private static byte[] TextPayload(Random random, int size)
    {
        var bytes = new byte[size];
        var at = 0;
        Span<byte> encoded = stackalloc byte[4];
        while (at < size)
        {
            string character = s_characters[random.Next(s_characters.Length)];
            int length = Encoding.UTF8.GetBytes(character, encoded);
            if (at + length > size)
            {
                bytes[at++] = (byte)'x';
                continue;
            }

            encoded[..length].CopyTo(bytes.AsSpan(at));
            at += length;
        }

        return bytes;
    }
}
