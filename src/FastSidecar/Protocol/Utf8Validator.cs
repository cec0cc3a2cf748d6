using System.Runtime.InteropServices;
using System.Text.Unicode;

namespace FastSidecar.Protocol;

/// <summary>Incremental UTF-8 validation for text messages that arrive in fragments and partial reads.</summary>
/// <remarks>
/// <para>
/// A small state machine carries at most one incomplete code point across calls: how many continuation bytes are
/// still owed and the range the next one must fall in. The ranges are what reject overlong forms (E0 needs A0–BF,
/// F0 needs 90–BF), surrogates (ED needs 80–9F) and code points above U+10FFFF (F4 needs 80–8F), and they make a
/// failure show up at the first byte that cannot continue a valid sequence, as RFC 6455 §8.1 asks ("fail fast").
/// </para>
/// <para>
/// The bulk of each chunk — everything between a finished carried-over sequence and a possibly incomplete sequence at
/// its end — goes to <see cref="Utf8.IsValid"/>, the BCL's vectorised validator with its ASCII fast path. Splitting at
/// a lead byte is sound: a lead byte can never continue the sequence before it, so each side must be valid on its own.
/// </para>
/// </remarks>
[StructLayout(LayoutKind.Auto)]
internal struct Utf8Validator
{
    private int _needed;   // continuation bytes still owed by the current code point
    private byte _lower;   // inclusive range for the next continuation byte
    private byte _upper;

    /// <summary>True when the bytes seen so far end on a code point boundary.</summary>
    public readonly bool IsComplete => _needed == 0;

    /// <summary>Validates the next bytes of the stream.</summary>
    /// <returns>False as soon as the bytes seen cannot be the start of valid UTF-8; the state is then undefined until <see cref="Reset"/>.</returns>
    public bool Append(ReadOnlySpan<byte> bytes)
    {
        int i = 0;
        while (_needed != 0 && i < bytes.Length)
        {
            if (!Step(bytes[i++]))
            {
                return false;
            }
        }

        ReadOnlySpan<byte> rest = bytes[i..];
        if (rest.IsEmpty)
        {
            return true;
        }

        int tail = IncompleteTailStart(rest);
        if (!Utf8.IsValid(rest[..tail]))
        {
            return false;
        }

        foreach (byte b in rest[tail..])
        {
            if (!Step(b))
            {
                return false;
            }
        }

        return true;
    }

    public void Reset() => this = default;

    /// <summary>Where the last (possibly incomplete) multi-byte sequence starts, if it lies within the last 3 bytes; else the length.</summary>
    private static int IncompleteTailStart(ReadOnlySpan<byte> bytes)
    {
        int stop = Math.Max(0, bytes.Length - 3);
        for (int j = bytes.Length - 1; j >= stop; j--)
        {
            byte b = bytes[j];
            if ((b & 0b_1100_0000) != 0b_1000_0000)
            {
                // ASCII ends a sequence, so everything is for the bulk validator; a lead byte starts the tail.
                return b < 0x80 ? bytes.Length : j;
            }
        }

        return bytes.Length;
    }

    private bool Step(byte b)
    {
        if (_needed == 0)
        {
            switch (b)
            {
                case < 0x80:
                    return true;
                case < 0xC2: // a stray continuation byte, or C0/C1 which only start overlong forms
                    return false;
                case < 0xE0:
                    Expect(1, 0x80, 0xBF);
                    return true;
                case < 0xF0:
                    Expect(2, b == 0xE0 ? (byte)0xA0 : (byte)0x80, b == 0xED ? (byte)0x9F : (byte)0xBF);
                    return true;
                case < 0xF5:
                    Expect(3, b == 0xF0 ? (byte)0x90 : (byte)0x80, b == 0xF4 ? (byte)0x8F : (byte)0xBF);
                    return true;
                default:
                    return false;
            }
        }

        if (b < _lower || b > _upper)
        {
            return false;
        }

        Expect(_needed - 1, 0x80, 0xBF);
        return true;
    }

    private void Expect(int needed, byte lower, byte upper)
    {
        _needed = needed;
        _lower = lower;
        _upper = upper;
    }
}
