using System.Buffers;
using System.Text;

namespace FastSidecar.Protocol.Handshake;

/// <summary>
/// The HTTP/1.1 pieces both handshake roles share: finding the end of a header block under a size limit,
/// walking its lines, and the character classes of RFC 9110 §5.
/// </summary>
/// <remarks>
/// Line endings are strict: every line ends in CRLF. A bare LF or a bare CR anywhere in the block fails the
/// handshake. RFC 9112 §2.2 lets a recipient accept a bare LF, but the two peers this code talks to (a WebSocket
/// server answering an upgrade, and our own client) always send CRLF, and a parser that accepts more than one
/// framing is exactly the kind of disagreement request smuggling lives on. Failing also answers the question of
/// where the block ends without guessing, and a peer that sent LF-only lines gets a clear error instead of a
/// header-size-limit error after it stalls.
/// </remarks>
internal static class HttpHeaderBlock
{
    private static readonly SearchValues<byte> s_tokenChars =
        SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8);

    private static readonly SearchValues<byte> s_lineEndChars = SearchValues.Create("\r\n"u8);

    /// <summary>
    /// Looks for the CRLFCRLF that ends a header block at the front of <paramref name="buffer"/>.
    /// </summary>
    /// <param name="buffer">Received bytes; not modified.</param>
    /// <param name="maxBytes">Largest block accepted, terminator included.</param>
    /// <param name="blockLength">Length of the block including its final CRLFCRLF, when found.</param>
    /// <param name="firstLineLength">Length of the first line excluding its CRLF, or -1 when its CRLF has not arrived.</param>
    /// <param name="malformedStatus">Status code put on the exception for a bare CR or LF.</param>
    /// <param name="tooLargeStatus">Status code put on the exception when the limit is crossed.</param>
    /// <returns>True when the whole block is in the buffer.</returns>
    /// <exception cref="WebSocketHandshakeException">
    /// A bare CR or LF, or <paramref name="maxBytes"/> bytes without the end of the block; checked on the bytes
    /// present, so a peer that trickles an endless block fails as soon as it crosses the limit.
    /// </exception>
    public static bool TryFindEnd(in ReadOnlySequence<byte> buffer, int maxBytes, out int blockLength, out int firstLineLength,
        int? malformedStatus = null, int? tooLargeStatus = null)
    {
        blockLength = 0;
        firstLineLength = -1;

        // Bytes "\r\n\r\n" matched so far, carried across segment boundaries.
        int matched = 0;
        long offset = 0;
        long limit = Math.Min(buffer.Length, maxBytes);

        foreach (ReadOnlyMemory<byte> memory in buffer)
        {
            ReadOnlySpan<byte> span = memory.Span;
            if (span.Length > limit - offset)
            {
                span = span[..(int)(limit - offset)];
            }

            int i = 0;
            while (i < span.Length)
            {
                if (matched == 0)
                {
                    int next = span[i..].IndexOfAny(s_lineEndChars);
                    if (next < 0)
                    {
                        break;
                    }

                    i += next;
                }

                byte b = span[i];
                bool expectLf = (matched & 1) == 1;
                if (expectLf)
                {
                    if (b != (byte)'\n')
                    {
                        throw new WebSocketHandshakeException($"Bare CR at byte {offset + i} of the HTTP header block; lines must end in CRLF.", malformedStatus);
                    }

                    if (firstLineLength < 0)
                    {
                        firstLineLength = (int)(offset + i - 1);
                    }
                }
                else if (b == (byte)'\n')
                {
                    throw new WebSocketHandshakeException($"Bare LF at byte {offset + i} of the HTTP header block; lines must end in CRLF.", malformedStatus);
                }
                else if (b != (byte)'\r')
                {
                    matched = 0;
                    i++;
                    continue;
                }

                matched++;
                i++;
                if (matched == 4)
                {
                    blockLength = (int)(offset + i);
                    return true;
                }
            }

            offset += span.Length;
            if (offset >= limit)
            {
                break;
            }
        }

        if (buffer.Length >= maxBytes)
        {
            throw new WebSocketHandshakeException($"The HTTP header block is larger than the limit of {maxBytes} bytes.", tooLargeStatus);
        }

        return false;
    }

    /// <summary>
    /// Gives the first <paramref name="length"/> bytes as one span, copying into a pooled array only when they
    /// span segments. The caller returns <paramref name="rented"/> to <see cref="ArrayPool{T}.Shared"/> when not null.
    /// </summary>
    public static ReadOnlySpan<byte> Contiguous(in ReadOnlySequence<byte> buffer, int length, out byte[]? rented)
    {
        ReadOnlySpan<byte> first = buffer.FirstSpan;
        if (first.Length >= length)
        {
            rented = null;
            return first[..length];
        }

        rented = ArrayPool<byte>.Shared.Rent(length);
        buffer.Slice(0, length).CopyTo(rented);
        return rented.AsSpan(0, length);
    }

    /// <summary>Splits off the next CRLF-terminated line; the block was validated by <see cref="TryFindEnd"/>.</summary>
    public static ReadOnlySpan<byte> NextLine(scoped ref ReadOnlySpan<byte> rest)
    {
        int end = rest.IndexOf("\r\n"u8);
        ReadOnlySpan<byte> line = rest[..end];
        rest = rest[(end + 2)..];
        return line;
    }

    /// <summary>
    /// Splits a header line into name and value (OWS trimmed), or throws for the shapes RFC 9112 §5 forbids.
    /// </summary>
    public static HttpHeaderField SplitField(ReadOnlySpan<byte> line, int? statusCode)
    {
        if (line[0] is (byte)' ' or (byte)'\t')
        {
            // §5.2: obs-fold is deprecated; a user agent may reject it, and we do rather than guess how to join.
            throw new WebSocketHandshakeException("Obsolete line folding (a header line starting with whitespace) is not accepted.", statusCode);
        }

        int colon = line.IndexOf((byte)':');
        if (colon < 0)
        {
            throw new WebSocketHandshakeException($"Header line without a colon: \"{Printable(line)}\".", statusCode);
        }

        ReadOnlySpan<byte> name = line[..colon];
        if (!IsToken(name))
        {
            // Also catches whitespace between the name and the colon, which §5.1 says to reject.
            throw new WebSocketHandshakeException($"Invalid header name \"{Printable(name)}\".", statusCode);
        }

        ReadOnlySpan<byte> value = line[(colon + 1)..].Trim(" \t"u8);
        if (!IsFieldValue(value))
        {
            throw new WebSocketHandshakeException($"Header {Printable(name)} has a control character in its value.", statusCode);
        }

        return new HttpHeaderField(name, value);
    }

    /// <summary>RFC 9110 §5.6.2 token: one or more tchar.</summary>
    public static bool IsToken(ReadOnlySpan<byte> text) => !text.IsEmpty && !text.ContainsAnyExcept(s_tokenChars);

    /// <inheritdoc cref="IsToken(ReadOnlySpan{byte})"/>
    public static bool IsToken(string text)
    {
        if (text.Length == 0)
        {
            return false;
        }

        foreach (char c in text)
        {
            if (c > 0x7F || !s_tokenChars.Contains((byte)c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>RFC 9110 §5.5 field-value: VCHAR, SP, HTAB and obs-text; no other control characters.</summary>
    public static bool IsFieldValue(ReadOnlySpan<byte> value)
    {
        foreach (byte b in value)
        {
            if ((b < 0x20 && b != (byte)'\t') || b == 0x7F)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>True when the comma-separated list <paramref name="list"/> has an element equal to <paramref name="token"/>, ignoring ASCII case.</summary>
    public static bool ListContains(ReadOnlySpan<byte> list, ReadOnlySpan<byte> token)
    {
        foreach (Range range in list.Split((byte)','))
        {
            if (Ascii.EqualsIgnoreCase(list[range].Trim(" \t"u8), token))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Text for an error message: Latin-1 as HTTP's obs-text is, control characters escaped, capped in length.</summary>
    public static string Printable(ReadOnlySpan<byte> bytes)
    {
        const int MaxShown = 200;
        ReadOnlySpan<byte> shown = bytes.Length > MaxShown ? bytes[..MaxShown] : bytes;
        var text = new StringBuilder(shown.Length + 8);
        foreach (byte b in shown)
        {
            if (b is < 0x20 or 0x7F)
            {
                text.Append("\\x").Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                text.Append((char)b);
            }
        }

        if (shown.Length < bytes.Length)
        {
            text.Append("...");
        }

        return text.ToString();
    }
}
