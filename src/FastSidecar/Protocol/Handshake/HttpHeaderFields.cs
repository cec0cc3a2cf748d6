namespace FastSidecar.Protocol.Handshake;

/// <summary>
/// The header fields of a header block that <see cref="HttpHeaderBlock.TryFindEnd"/> has validated, walked in
/// order without allocating: <c>foreach (HttpHeaderField field in new HttpHeaderFields(rest, status))</c>.
/// </summary>
/// <remarks>
/// Both handshake roles read their fields through this one walk, so the rules of RFC 9112 §5 (no obs-fold, a
/// token name, no control characters in the value) cannot drift apart between them. A field that breaks one
/// throws <see cref="WebSocketHandshakeException"/> carrying the status code given, when it is reached.
/// </remarks>
internal ref struct HttpHeaderFields
{
    private ReadOnlySpan<byte> _rest;
    private readonly int? _statusCode;

    /// <param name="fields">The block after its first line, ending with the empty line of CRLFCRLF.</param>
    /// <param name="statusCode">Status put on the exception for a malformed field.</param>
    public HttpHeaderFields(ReadOnlySpan<byte> fields, int? statusCode)
    {
        _rest = fields;
        _statusCode = statusCode;
        Current = default;
    }

    /// <summary>The field <see cref="MoveNext"/> last reached.</summary>
    public HttpHeaderField Current { get; private set; }

    /// <summary>The enumerator is the value itself, so <c>foreach</c> copies nothing.</summary>
    public readonly HttpHeaderFields GetEnumerator() => this;

    /// <summary>Steps to the next field; false at the empty line that ends the block.</summary>
    public bool MoveNext()
    {
        ReadOnlySpan<byte> line = HttpHeaderBlock.NextLine(ref _rest);
        if (line.IsEmpty)
        {
            return false;
        }

        Current = HttpHeaderBlock.SplitField(line, _statusCode);
        return true;
    }
}

/// <summary>One header field: its name as sent, and its value with surrounding whitespace trimmed.</summary>
internal readonly ref struct HttpHeaderField(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
{
    /// <summary>The field name; compare it ignoring ASCII case.</summary>
    public ReadOnlySpan<byte> Name { get; } = name;

    /// <summary>The field value, optional whitespace trimmed.</summary>
    public ReadOnlySpan<byte> Value { get; } = value;
}
