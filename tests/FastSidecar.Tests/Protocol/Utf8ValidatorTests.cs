using System.Buffers;
using System.Text;
using System.Text.Unicode;
using FastSidecar.Protocol;

namespace FastSidecar.Tests.Protocol;

public class Utf8ValidatorTests
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static bool OracleIsValid(byte[] bytes)
    {
        try
        {
            Strict.GetString(bytes);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }

    /// <summary>True when some continuation could still make <paramref name="prefix"/> valid UTF-8.</summary>
    private static bool OracleIsPrefix(ReadOnlySpan<byte> prefix)
    {
        char[] chars = new char[prefix.Length + 2];
        OperationStatus status = Utf8.ToUtf16(prefix, chars, out _, out _, replaceInvalidSequences: false, isFinalBlock: false);
        return status is OperationStatus.Done or OperationStatus.NeedMoreData;
    }

    public static IEnumerable<byte[]> Crafted() =>
    [
        [],
        "plain ascii"u8.ToArray(),
        [0xC2, 0x80], [0xDF, 0xBF], [0xE0, 0xA0, 0x80], [0xEF, 0xBF, 0xBF], [0xF0, 0x90, 0x80, 0x80], [0xF4, 0x8F, 0xBF, 0xBF],
        [0xED, 0x9F, 0xBF], // U+D7FF, just below the surrogates
        [0xEE, 0x80, 0x80], // U+E000, just above
        [0xC0, 0x80], [0xC1, 0xBF], // overlong 2-byte
        [0xE0, 0x80, 0x80], [0xE0, 0x9F, 0xBF], // overlong 3-byte
        [0xF0, 0x80, 0x80, 0x80], [0xF0, 0x8F, 0xBF, 0xBF], // overlong 4-byte
        [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF], // surrogates
        [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xFF], [0xFE], // above U+10FFFF / never valid
        [0x80], [0xBF], [0x61, 0x80, 0x62], // stray continuations
        [0xC2], [0xE2, 0x82], [0xF0, 0x9F, 0x98], // truncated
        [0xC2, 0x41], [0xE2, 0x41, 0x82], [0xF0, 0x9F, 0x41, 0x80], // interrupted
        [.. Encoding.UTF8.GetBytes("κόσμε — 日本語 — 😀😃 mixed with ascii text long enough for vectors ................"), 0xED, 0xA0, 0x80],
        Encoding.UTF8.GetBytes(new string('a', 200) + "é" + new string('b', 100) + "😀"),
    ];

    private static IEnumerable<byte[]> RandomSequences(int count, int seed)
    {
        var random = new Random(seed);
        for (int n = 0; n < count; n++)
        {
            var text = new StringBuilder();
            int length = random.Next(0, 80);
            for (int i = 0; i < length; i++)
            {
                int kind = random.Next(5);
                int codePoint = kind switch
                {
                    0 => random.Next(0x20, 0x80),
                    1 => random.Next(0x80, 0x800),
                    2 => random.Next(0x800, 0xD800),
                    3 => random.Next(0xE000, 0x10000),
                    _ => random.Next(0x10000, 0x110000),
                };
                text.Append(char.ConvertFromUtf32(codePoint));
            }

            byte[] bytes = Encoding.UTF8.GetBytes(text.ToString());
            // Half are corrupted in one or two places, which yields every kind of invalid sequence over many runs.
            if (bytes.Length > 0 && random.Next(2) == 0)
            {
                int edits = random.Next(1, 3);
                for (int e = 0; e < edits; e++)
                {
                    bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                }
            }

            yield return bytes;
        }
    }

    private static void CheckEverySplit(byte[] bytes)
    {
        bool expected = OracleIsValid(bytes);
        for (int split = 0; split <= bytes.Length; split++)
        {
            var validator = new Utf8Validator();
            bool actual = validator.Append(bytes.AsSpan(0, split)) && validator.Append(bytes.AsSpan(split)) && validator.IsComplete;
            Assert.True(expected == actual, $"{Convert.ToHexString(bytes)} split at {split}: expected {expected}");
        }
    }

    private static void CheckFailsAtTheFirstImpossibleByte(byte[] bytes)
    {
        var validator = new Utf8Validator();
        for (int i = 0; i < bytes.Length; i++)
        {
            bool stillPossible = OracleIsPrefix(bytes.AsSpan(0, i + 1));
            bool accepted = validator.Append(bytes.AsSpan(i, 1));
            Assert.True(stillPossible == accepted, $"{Convert.ToHexString(bytes)} at byte {i}: expected {stillPossible}");
            if (!accepted)
            {
                return;
            }
        }

        Assert.Equal(OracleIsValid(bytes), validator.IsComplete);
    }

    [Fact]
    public void Crafted_sequences_agree_with_strict_decoding_at_every_split()
    {
        foreach (byte[] bytes in Crafted())
        {
            CheckEverySplit(bytes);
            CheckFailsAtTheFirstImpossibleByte(bytes);
        }
    }

    [Fact]
    public void Random_sequences_agree_with_strict_decoding_at_every_split()
    {
        foreach (byte[] bytes in RandomSequences(2000, 1234))
        {
            CheckEverySplit(bytes);
            CheckFailsAtTheFirstImpossibleByte(bytes);
        }
    }

    [Fact]
    public void Every_two_and_three_byte_combination_agrees_with_the_prefix_oracle()
    {
        // Exhaustive over the lead byte and one or two following bytes drawn from the interesting boundaries.
        byte[] seconds = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xE0, 0xF0, 0xF4, 0xFF];
        for (int lead = 0; lead < 256; lead++)
        {
            foreach (byte second in seconds)
            {
                foreach (byte third in seconds)
                {
                    CheckFailsAtTheFirstImpossibleByte([(byte)lead, second, third]);
                    CheckEverySplit([(byte)lead, second, third, 0x80]);
                }
            }
        }
    }

    [Fact]
    public void Reset_forgets_an_incomplete_sequence()
    {
        var validator = new Utf8Validator();
        Assert.True(validator.Append([0xE2, 0x82]));
        Assert.False(validator.IsComplete);
        validator.Reset();
        Assert.True(validator.IsComplete);
        Assert.True(validator.Append("a"u8));
    }
}
