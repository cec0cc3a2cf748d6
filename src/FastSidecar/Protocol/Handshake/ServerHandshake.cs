using System.Buffers;
using System.Text;

namespace FastSidecar.Protocol.Handshake;

/// <summary>
/// The server side of the RFC 6455 §4.2 opening handshake, for the session engine's server role.
/// </summary>
/// <remarks>
/// Stateless and thread-safe. Failures are <see cref="WebSocketHandshakeException"/>s whose
/// <see cref="WebSocketHandshakeException.StatusCode"/> is the status a server would answer with (400, or 426 for a
/// wrong version, 431 for an oversized header block). Line endings follow <see cref="HttpHeaderBlock"/>: CRLF only.
/// </remarks>
internal static class ServerHandshake
{
    private const int BadRequest = 400;
    private const int UpgradeRequired = 426;
    private const int HeaderFieldsTooLarge = 431;

    /// <summary>Reads and validates a client's upgrade request once its header block has arrived.</summary>
    /// <param name="buffer">Untouched on false; on true, sliced past the header block.</param>
    /// <param name="maxHeaderBytes">Largest request header block accepted.</param>
    /// <param name="request">The validated request.</param>
    /// <returns>False when more bytes are needed.</returns>
    /// <exception cref="WebSocketHandshakeException">The request is not a valid WebSocket upgrade.</exception>
    public static bool TryReadRequest(ref ReadOnlySequence<byte> buffer, int maxHeaderBytes, out ServerHandshakeRequest request)
    {
        request = default;
        if (!HttpHeaderBlock.TryFindEnd(buffer, maxHeaderBytes, out int blockLength, out _, BadRequest, HeaderFieldsTooLarge))
        {
            return false;
        }

        ReadOnlySpan<byte> block = HttpHeaderBlock.Contiguous(buffer, blockLength, out byte[]? rented);
        try
        {
            request = Parse(block);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        buffer = buffer.Slice(blockLength);
        return true;
    }

    /// <summary>Writes the 101 answer to <paramref name="request"/>.</summary>
    /// <param name="output">Where the answer goes.</param>
    /// <param name="request">The request being accepted.</param>
    /// <param name="subProtocol">One of the request's subprotocols, or null for none.</param>
    /// <exception cref="ArgumentException"><paramref name="subProtocol"/> was not offered by the client.</exception>
    public static void WriteAccept(IBufferWriter<byte> output, in ServerHandshakeRequest request, string? subProtocol)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (subProtocol is not null && !Contains(request.SubProtocols, subProtocol))
        {
            throw new ArgumentException($"Subprotocol \"{subProtocol}\" was not offered by the client.", nameof(subProtocol));
        }

        Span<byte> key = stackalloc byte[WebSocketAccept.KeyLength];
        Ascii.FromUtf16(request.Key, key, out _);
        Span<byte> accept = stackalloc byte[WebSocketAccept.AcceptLength];
        WebSocketAccept.Compute(key, accept);

        ReadOnlySpan<byte> head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "u8;
        ReadOnlySpan<byte> protocolName = "\r\nSec-WebSocket-Protocol: "u8;
        int length = head.Length + accept.Length + 4 + (subProtocol is null ? 0 : protocolName.Length + subProtocol.Length);

        var writer = new AsciiSpanWriter(output.GetSpan(length));
        writer.Write(head);
        writer.Write(accept);
        if (subProtocol is not null)
        {
            writer.Write(protocolName);
            writer.Write(subProtocol);
        }

        writer.Write("\r\n\r\n"u8);
        output.Advance(writer.Position);
    }

    // RFC 6455 §4.2.1: the checks a server makes on the client's opening handshake.
    private static ServerHandshakeRequest Parse(ReadOnlySpan<byte> block)
    {
        ReadOnlySpan<byte> rest = block;
        string path = ParseRequestLine(HttpHeaderBlock.NextLine(ref rest));

        string? host = null, key = null;
        int hostCount = 0, keyCount = 0, versionCount = 0;
        bool upgrade = false, connection = false, versionOk = false;
        List<string>? protocols = null;

        foreach (HttpHeaderField field in new HttpHeaderFields(rest, BadRequest))
        {
            ReadOnlySpan<byte> name = field.Name, value = field.Value;
            if (Ascii.EqualsIgnoreCase(name, "Host"u8))
            {
                hostCount++;
                host = Encoding.Latin1.GetString(value);
            }
            else if (Ascii.EqualsIgnoreCase(name, "Upgrade"u8))
            {
                upgrade |= HttpHeaderBlock.ListContains(value, "websocket"u8);
            }
            else if (Ascii.EqualsIgnoreCase(name, "Connection"u8))
            {
                connection |= HttpHeaderBlock.ListContains(value, "upgrade"u8);
            }
            else if (Ascii.EqualsIgnoreCase(name, "Sec-WebSocket-Key"u8))
            {
                keyCount++;
                if (!WebSocketAccept.IsValidKey(value))
                {
                    throw new WebSocketHandshakeException("Sec-WebSocket-Key is not the base64 form of 16 bytes.", BadRequest);
                }

                key = Encoding.ASCII.GetString(value);
            }
            else if (Ascii.EqualsIgnoreCase(name, "Sec-WebSocket-Version"u8))
            {
                versionCount++;
                versionOk = value.SequenceEqual("13"u8);
            }
            else if (Ascii.EqualsIgnoreCase(name, "Sec-WebSocket-Protocol"u8))
            {
                AddProtocols(value, protocols ??= []);
            }
            else if (Ascii.EqualsIgnoreCase(name, "Content-Length"u8) || Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8))
            {
                // Bytes after the header block are frames; a request body would be read as frames. Content-Length: 0 is harmless.
                if (!(value.SequenceEqual("0"u8) && name.Length == "Content-Length".Length))
                {
                    throw new WebSocketHandshakeException("An upgrade request must not have a body.", BadRequest);
                }
            }
        }

        if (hostCount != 1 || string.IsNullOrEmpty(host))
        {
            throw new WebSocketHandshakeException("The request needs exactly one non-empty Host header.", BadRequest);
        }

        if (!upgrade)
        {
            throw new WebSocketHandshakeException("The request's Upgrade header does not include \"websocket\".", BadRequest);
        }

        if (!connection)
        {
            throw new WebSocketHandshakeException("The request's Connection header lacks the \"upgrade\" token.", BadRequest);
        }

        if (versionCount != 1 || !versionOk)
        {
            throw new WebSocketHandshakeException("Sec-WebSocket-Version must be 13.", UpgradeRequired);
        }

        if (keyCount != 1 || key is null)
        {
            throw new WebSocketHandshakeException("The request needs exactly one Sec-WebSocket-Key header.", BadRequest);
        }

        return new ServerHandshakeRequest(path, host, key, (IReadOnlyList<string>?)protocols ?? []);
    }

    private static string ParseRequestLine(ReadOnlySpan<byte> line)
    {
        // request-line = method SP request-target SP HTTP-version (RFC 9112 §3); §4.2.1 asks for GET and HTTP/1.1 or later.
        if (!line.StartsWith("GET "u8) || !line.EndsWith(" HTTP/1.1"u8) || line.Length <= "GET  HTTP/1.1".Length)
        {
            throw new WebSocketHandshakeException($"Not a GET HTTP/1.1 request line: \"{HttpHeaderBlock.Printable(line)}\".", BadRequest);
        }

        ReadOnlySpan<byte> target = line["GET ".Length..^" HTTP/1.1".Length];
        if (target[0] != (byte)'/')
        {
            throw new WebSocketHandshakeException("The request target must be in origin form (start with '/').", BadRequest);
        }

        foreach (byte b in target)
        {
            if (b is <= (byte)' ' or > (byte)'~')
            {
                throw new WebSocketHandshakeException("The request target has a character that needs percent-encoding.", BadRequest);
            }
        }

        return Encoding.ASCII.GetString(target);
    }

    private static void AddProtocols(ReadOnlySpan<byte> value, List<string> protocols)
    {
        foreach (Range range in value.Split((byte)','))
        {
            ReadOnlySpan<byte> protocol = value[range].Trim(" \t"u8);
            if (!HttpHeaderBlock.IsToken(protocol))
            {
                throw new WebSocketHandshakeException("Sec-WebSocket-Protocol has an element that is not a token.", BadRequest);
            }

            protocols.Add(Encoding.ASCII.GetString(protocol));
        }
    }

    private static bool Contains(IReadOnlyList<string> list, string value)
    {
        for (int i = 0; i < list.Count; i++)
        {
            if (string.Equals(list[i], value, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
