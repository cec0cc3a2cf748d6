using System.Buffers;
using System.Text;

namespace FastSidecar.Protocol.Handshake;

/// <summary>
/// The client side of the RFC 6455 §4.1 opening handshake: writes the upgrade request and validates the
/// server's answer.
/// </summary>
/// <remarks>
/// One instance per connection attempt, used by the loop thread only; not thread-safe. Everything that does not
/// depend on the random key is validated and encoded once, in the constructor, so <see cref="WriteRequest(IBufferWriter{byte})"/>
/// is one copy into the writer's span. <see cref="TryReadResponse"/> keeps no state between calls: the caller
/// hands back the same unconsumed bytes with more appended, and the block is rescanned, which costs little
/// next to a network round trip and is bounded by the header size limit.
/// </remarks>
internal sealed partial class ClientHandshake
{
    /// <summary>Default limit on the size of the server's header block.</summary>
    public const int DefaultMaxHeaderBytes = 16 * 1024;

    // Request header names the handshake writes itself, or that would change how the bytes after the request are read.
    private static readonly string[] s_reservedHeaders =
    [
        "Host", "Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Accept",
        "Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions", "Content-Length", "Transfer-Encoding",
    ];

    // Every request byte that comes before the key: request line, fixed headers, subprotocols and extra headers.
    private readonly byte[] _requestPrefix;
    private readonly string[] _subProtocols;
    private readonly int _maxHeaderBytes;

    // The permessage-deflate offer, or null when none is made (what the answer settled is NegotiatedDeflate).
    private readonly System.Net.WebSockets.WebSocketDeflateOptions? _deflateOffer;

    // The key of the request written last and the accept value it calls for; set by WriteRequest.
    private readonly byte[] _key = new byte[WebSocketAccept.KeyLength];
    private readonly byte[] _expectedAccept = new byte[WebSocketAccept.AcceptLength];
    private bool _requestWritten;

    /// <summary>Validates everything about the request that can be known before connecting.</summary>
    /// <param name="uri">An absolute ws:// or wss:// URI without a fragment.</param>
    /// <param name="subProtocols">Subprotocols to offer, in order of preference; tokens, no duplicates.</param>
    /// <param name="headers">Extra request headers; names are tokens, values have no control characters.</param>
    /// <param name="maxHeaderBytes">Largest response header block accepted.</param>
    /// <param name="deflate">When set, permessage-deflate (RFC 7692) is offered with these parameters.</param>
    /// <exception cref="ArgumentException">Any of the above is broken, or a header is one the handshake owns.</exception>
    public ClientHandshake(Uri uri, IReadOnlyList<string> subProtocols, IReadOnlyList<KeyValuePair<string, string>> headers,
        int maxHeaderBytes = DefaultMaxHeaderBytes, System.Net.WebSockets.WebSocketDeflateOptions? deflate = null)
    {
        ArgumentNullException.ThrowIfNull(uri);
        ArgumentNullException.ThrowIfNull(subProtocols);
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxHeaderBytes, 64);

        if (!uri.IsAbsoluteUri || (uri.Scheme != "ws" && uri.Scheme != "wss"))
        {
            throw new ArgumentException($"A WebSocket URI is absolute with scheme ws or wss: {uri}.", nameof(uri));
        }

        if (uri.Fragment.Length != 0)
        {
            // RFC 6455 §3: fragment identifiers are meaningless for WebSocket URIs and must not be used.
            throw new ArgumentException("A WebSocket URI must not have a fragment.", nameof(uri));
        }

        string target = uri.PathAndQuery.Length == 0 ? "/" : uri.PathAndQuery;
        if (!IsVisibleAscii(target))
        {
            throw new ArgumentException($"The request target \"{target}\" is not plain ASCII.", nameof(uri));
        }

        string host = HostHeaderValue(uri);
        if (!IsVisibleAscii(host))
        {
            throw new ArgumentException($"The host \"{host}\" cannot be written as ASCII.", nameof(uri));
        }

        _subProtocols = ValidateSubProtocols(subProtocols);
        KeyValuePair<string, string>[] extra = ValidateHeaders(headers);
        _maxHeaderBytes = maxHeaderBytes;
        _deflateOffer = deflate;
        if (deflate is not null)
        {
            Array.Resize(ref extra, extra.Length + 1);
            extra[^1] = new KeyValuePair<string, string>("Sec-WebSocket-Extensions", DeflateNegotiation.BuildOffer(deflate));
        }

        _requestPrefix = EncodePrefix(target, host, _subProtocols, extra);
    }

    /// <summary>What the permessage-deflate negotiation settled, once a response was accepted; null when it is off.</summary>
    public DeflateParameters? NegotiatedDeflate { get; private set; }

    /// <summary>The key sent by the last <see cref="WriteRequest(IBufferWriter{byte})"/>, as ASCII.</summary>
    internal ReadOnlySpan<byte> Key => _key;

    /// <summary>Writes the upgrade request with a fresh 16-byte random key.</summary>
    public void WriteRequest(IBufferWriter<byte> output)
    {
        WebSocketAccept.NewKey(_key);
        WriteRequestWithCurrentKey(output);
    }

    /// <summary>Writes the upgrade request with the key that encodes <paramref name="nonce"/>; for golden-text tests.</summary>
    internal void WriteRequest(IBufferWriter<byte> output, ReadOnlySpan<byte> nonce)
    {
        WebSocketAccept.KeyFromNonce(nonce, _key);
        WriteRequestWithCurrentKey(output);
    }

    /// <summary>The length of the upgrade request in bytes (the key has a fixed length).</summary>
    public int RequestLength => _requestPrefix.Length + WebSocketAccept.KeyLength + 4;

    /// <summary>Writes the upgrade request with a fresh random key into <paramref name="destination"/>, at least <see cref="RequestLength"/> long.</summary>
    /// <returns>The bytes written: <see cref="RequestLength"/>.</returns>
    public int WriteRequest(Span<byte> destination)
    {
        WebSocketAccept.NewKey(_key);
        return WriteRequestWithCurrentKey(destination);
    }

    private void WriteRequestWithCurrentKey(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        output.Advance(WriteRequestWithCurrentKey(output.GetSpan(RequestLength)));
    }

    private int WriteRequestWithCurrentKey(Span<byte> destination)
    {
        WebSocketAccept.Compute(_key, _expectedAccept);
        var writer = new AsciiSpanWriter(destination[..RequestLength]);
        writer.Write(_requestPrefix);
        writer.Write(_key);
        writer.Write("\r\n\r\n"u8);
        _requestWritten = true;
        return writer.Position;
    }

    /// <summary>
    /// Validates the server's answer once its whole header block has arrived.
    /// </summary>
    /// <param name="buffer">
    /// Bytes received so far. Untouched when the method returns false; on true, sliced past the header block,
    /// so whatever follows (WebSocket frames the server sent right away) stays in it.
    /// </param>
    /// <param name="subProtocol">The subprotocol the server chose, or null when it chose none.</param>
    /// <returns>False when more bytes are needed; true when the connection is upgraded.</returns>
    /// <exception cref="WebSocketHandshakeException">
    /// The answer is not a valid upgrade; <see cref="WebSocketHandshakeException.StatusCode"/> carries the
    /// server's status once its status line has been read.
    /// </exception>
    /// <exception cref="InvalidOperationException">No request has been written yet.</exception>
    public bool TryReadResponse(ref ReadOnlySequence<byte> buffer, out string? subProtocol)
    {
        if (!_requestWritten)
        {
            throw new InvalidOperationException("The request must be written before its response is read.");
        }

        subProtocol = null;
        CheckVersionPrefix(buffer);

        bool complete = HttpHeaderBlock.TryFindEnd(buffer, _maxHeaderBytes, out int blockLength, out int firstLineLength);
        if (firstLineLength < 0)
        {
            return false;
        }

        // The status line is checked as soon as it arrives: a refusal fails fast even if the server never finishes its headers.
        int length = complete ? blockLength : firstLineLength + 2;
        ReadOnlySpan<byte> block = HttpHeaderBlock.Contiguous(buffer, length, out byte[]? rented);
        try
        {
            ReadOnlySpan<byte> rest = block;
            int status = ParseStatusLine(HttpHeaderBlock.NextLine(ref rest));
            if (!complete)
            {
                return false;
            }

            subProtocol = ValidateHeaders(rest, status);
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

    private static void CheckVersionPrefix(in ReadOnlySequence<byte> buffer)
    {
        ReadOnlySpan<byte> expected = "HTTP/1."u8;
        Span<byte> head = stackalloc byte[7];
        int available = (int)Math.Min(buffer.Length, expected.Length);
        buffer.Slice(0, available).CopyTo(head);
        if (!head[..available].SequenceEqual(expected[..available]))
        {
            throw new WebSocketHandshakeException(
                $"The server did not answer with HTTP/1.x; it began with \"{HttpHeaderBlock.Printable(head[..available])}\".");
        }
    }

    // status-line = HTTP-version SP status-code SP [ reason-phrase ]   (RFC 9112 §4)
    private static int ParseStatusLine(ReadOnlySpan<byte> line)
    {
        // "HTTP/1.x 101" is 12 bytes; the SP before an empty reason phrase is often left out in practice, so it is optional.
        if (line.Length < 12 || !line.StartsWith("HTTP/1."u8) || !char.IsAsciiDigit((char)line[7]) || line[8] != (byte)' '
            || !char.IsAsciiDigit((char)line[9]) || !char.IsAsciiDigit((char)line[10]) || !char.IsAsciiDigit((char)line[11])
            || (line.Length > 12 && line[12] != (byte)' '))
        {
            throw new WebSocketHandshakeException($"Malformed HTTP status line \"{HttpHeaderBlock.Printable(line)}\".");
        }

        int status = ((line[9] - '0') * 100) + ((line[10] - '0') * 10) + (line[11] - '0');
        ReadOnlySpan<byte> reason = line.Length > 13 ? line[13..] : default;
        if (!HttpHeaderBlock.IsFieldValue(reason))
        {
            throw new WebSocketHandshakeException($"Malformed HTTP status line \"{HttpHeaderBlock.Printable(line)}\".", status);
        }

        if (status != 101)
        {
            throw new WebSocketHandshakeException(
                $"The server refused the WebSocket upgrade: {status} {HttpHeaderBlock.Printable(reason)}".TrimEnd() + ".", status);
        }

        if (line[7] != (byte)'1')
        {
            throw new WebSocketHandshakeException("A 101 upgrade must come from HTTP/1.1.", status);
        }

        return status;
    }

    // RFC 6455 §4.1, the numbered list after "the client MUST validate the server's response".
    private string? ValidateHeaders(ReadOnlySpan<byte> rest, int status)
    {
        int upgradeCount = 0, acceptCount = 0, protocolCount = 0;
        DeflateParameters? deflate = null;
        bool upgradeIsWebSocket = false, connectionHasUpgrade = false, acceptMatches = false;
        string? subProtocol = null;

        foreach (HttpHeaderField field in new HttpHeaderFields(rest, status))
        {
            ReadOnlySpan<byte> name = field.Name, value = field.Value;
            if (Ascii.EqualsIgnoreCase(name, "Upgrade"u8))
            {
                upgradeCount++;
                upgradeIsWebSocket = Ascii.EqualsIgnoreCase(value, "websocket"u8);
            }
            else if (Ascii.EqualsIgnoreCase(name, "Connection"u8))
            {
                // Several Connection lines form one list (RFC 9110 §5.3), so any of them may carry the token.
                connectionHasUpgrade |= HttpHeaderBlock.ListContains(value, "upgrade"u8);
            }
            else if (Ascii.EqualsIgnoreCase(name, "Sec-WebSocket-Accept"u8))
            {
                acceptCount++;
                acceptMatches = value.SequenceEqual(_expectedAccept);
            }
            else if (Ascii.EqualsIgnoreCase(name, "Sec-WebSocket-Extensions"u8))
            {
                if (_deflateOffer is null)
                {
                    throw new WebSocketHandshakeException(
                        $"The server selected extensions \"{HttpHeaderBlock.Printable(value)}\" although none were offered.", status);
                }

                if (deflate is not null)
                {
                    // One extension was offered, so a second line can only select it twice or select another.
                    throw new WebSocketHandshakeException("The server selected more than one extension; only permessage-deflate was offered.", status);
                }

                deflate = DeflateNegotiation.Accept(value, _deflateOffer, status);
            }
            else if (Ascii.EqualsIgnoreCase(name, "Sec-WebSocket-Protocol"u8))
            {
                protocolCount++;
                subProtocol = MatchOffered(value, status);
            }
        }

        if (upgradeCount != 1 || !upgradeIsWebSocket)
        {
            throw new WebSocketHandshakeException(upgradeCount == 0
                ? "The server's answer has no Upgrade header."
                : "The server's Upgrade header is not exactly \"websocket\".", status);
        }

        if (!connectionHasUpgrade)
        {
            throw new WebSocketHandshakeException("The server's Connection header lacks the \"upgrade\" token.", status);
        }

        if (acceptCount != 1)
        {
            throw new WebSocketHandshakeException(acceptCount == 0
                ? "The server's answer has no Sec-WebSocket-Accept header."
                : "The server sent Sec-WebSocket-Accept more than once.", status);
        }

        if (!acceptMatches)
        {
            throw new WebSocketHandshakeException("The server's Sec-WebSocket-Accept does not match the key that was sent.", status);
        }

        if (protocolCount > 1)
        {
            throw new WebSocketHandshakeException("The server sent Sec-WebSocket-Protocol more than once.", status);
        }

        NegotiatedDeflate = deflate;
        return subProtocol;
    }

    private string MatchOffered(ReadOnlySpan<byte> value, int status)
    {
        // Subprotocol names are compared exactly: RFC 6455 §4.1 asks for "one of the values" the client sent.
        foreach (string offered in _subProtocols)
        {
            if (value.Length == offered.Length && Ascii.Equals(value, offered))
            {
                return offered;
            }
        }

        string detail = _subProtocols.Length == 0 ? "none were offered" : $"offered: {string.Join(", ", _subProtocols)}";
        throw new WebSocketHandshakeException(
            $"The server selected subprotocol \"{HttpHeaderBlock.Printable(value)}\" which was not offered ({detail}).", status);
    }

}
