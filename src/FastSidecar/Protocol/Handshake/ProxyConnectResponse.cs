using System.Text;

namespace FastSidecar.Protocol.Handshake;

/// <summary>What <see cref="ProxyConnectResponse.TryParse"/> found.</summary>
internal enum ProxyConnectParse
{
    /// <summary>The header block is not complete yet: read more.</summary>
    NeedMoreData,

    /// <summary>A complete, well-formed response; see its status.</summary>
    Complete,

    /// <summary>Not an HTTP response, or over the size limit.</summary>
    Invalid,
}

/// <summary>
/// The proxy's answer to <c>CONNECT</c> (RFC 9110 §9.3.6): a status line and a header block, nothing more. Only the
/// status matters: any 2xx opens the tunnel, anything else refuses it. The headers are skipped (a refusal's body is
/// never read: the connection is closed instead).
/// </summary>
/// <remarks>
/// Input from the network, so it validates before it allocates: the block must end within
/// the caller's limit, the status line must be <c>HTTP/1.x SP 3DIGIT [SP reason]</c>, and the only
/// allocation is the reason phrase of a refusal (for the error message), cut to 128 characters.
/// </remarks>
internal static class ProxyConnectResponse
{
    private const int MaxReasonChars = 128;

    public static ProxyConnectParse TryParse(ReadOnlySpan<byte> buffer, int maxHeaderBytes, out int status, out string? reason, out int headerLength)
    {
        status = 0;
        reason = null;
        headerLength = 0;
        int end = buffer.IndexOf("\r\n\r\n"u8);
        if (end < 0)
        {
            // A line feed alone ends lines in some proxies' answers, but not this parser's: a block that never
            // ends within the limit is refused either way.
            return buffer.Length > maxHeaderBytes ? ProxyConnectParse.Invalid : ProxyConnectParse.NeedMoreData;
        }

        if (end + 4 > maxHeaderBytes)
        {
            return ProxyConnectParse.Invalid;
        }

        ReadOnlySpan<byte> block = buffer[..end];
        int lineEnd = block.IndexOf("\r\n"u8);
        ReadOnlySpan<byte> statusLine = lineEnd < 0 ? block : block[..lineEnd];

        // "HTTP/1.x 200" at least: version, one space, three digits.
        if (statusLine.Length < 12 || !statusLine.StartsWith("HTTP/1."u8) || !char.IsAsciiDigit((char)statusLine[7]) || statusLine[8] != (byte)' ')
        {
            return ProxyConnectParse.Invalid;
        }

        ReadOnlySpan<byte> code = statusLine.Slice(9, 3);
        foreach (byte b in code)
        {
            if (!char.IsAsciiDigit((char)b))
            {
                return ProxyConnectParse.Invalid;
            }
        }

        if (statusLine.Length > 12 && statusLine[12] != (byte)' ')
        {
            return ProxyConnectParse.Invalid;
        }

        foreach (byte b in block)
        {
            // Header lines are visible ASCII, spaces and tabs; a bare control byte or DEL means this is not HTTP.
            if (b is < 0x20 and not (byte)'\r' and not (byte)'\n' and not (byte)'\t' || b == 0x7F)
            {
                return ProxyConnectParse.Invalid;
            }
        }

        status = ((code[0] - '0') * 100) + ((code[1] - '0') * 10) + (code[2] - '0');
        if (status < 100)
        {
            return ProxyConnectParse.Invalid;
        }

        if (status is < 200 or > 299 && statusLine.Length > 13)
        {
            ReadOnlySpan<byte> phrase = statusLine[13..];
            reason = Encoding.Latin1.GetString(phrase[..Math.Min(phrase.Length, MaxReasonChars)]);
        }

        headerLength = end + 4;
        return ProxyConnectParse.Complete;
    }
}
