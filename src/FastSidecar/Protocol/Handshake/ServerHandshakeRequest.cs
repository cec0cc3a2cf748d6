namespace FastSidecar.Protocol.Handshake;

/// <summary>A client's upgrade request, validated by <see cref="ServerHandshake.TryReadRequest"/>.</summary>
internal readonly struct ServerHandshakeRequest
{
    internal ServerHandshakeRequest(string path, string host, string key, IReadOnlyList<string> subProtocols)
    {
        Path = path;
        Host = host;
        Key = key;
        SubProtocols = subProtocols;
    }

    /// <summary>The request target: path and query, as sent.</summary>
    public string Path { get; }

    /// <summary>The Host header, as sent.</summary>
    public string Host { get; }

    /// <summary>The Sec-WebSocket-Key, already checked to be base64 of 16 bytes.</summary>
    public string Key { get; }

    /// <summary>Subprotocols the client offered, in its order of preference; empty when none.</summary>
    public IReadOnlyList<string> SubProtocols { get; }
}
