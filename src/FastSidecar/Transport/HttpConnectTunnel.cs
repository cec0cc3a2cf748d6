using System.IO.Pipelines;
using System.Net.Sockets;
using FastSidecar.Protocol.Handshake;

namespace FastSidecar.Transport;

/// <summary>
/// An HTTP CONNECT tunnel in front of another transport: it sends <c>CONNECT host:port</c> to the proxy, reads the
/// answer, and only then lets the inner transport (plain, or TLS to the target) use the socket.
/// </summary>
/// <remarks>
/// <para>
/// Until the proxy answers, whatever the session writes (the upgrade request) waits in the inner transport's output
/// pipe, and the inner transport is not called at all (a TLS transport starts its handshake on its first call, which
/// must reach the target, not the proxy). The answer is read in small pieces into a buffer of its own, never past
/// the end of the header block: the bytes after it belong to the target (a server may speak first).
/// </para>
/// <para>
/// Loop thread only. The inner transport owns the socket and the pipes; this type owns the CONNECT exchange only.
/// </para>
/// </remarks>
internal sealed class HttpConnectTunnel : ITransport
{
    private const int MaxResponseBytes = 8 * 1024;

    private readonly ITransport _inner;
    private readonly ProxyRoute _route;
    private readonly byte[] _response = new byte[MaxResponseBytes];
    private ReadOnlyMemory<byte> _requestRemaining;
    private int _responseLength;
    private bool _open;
    private bool _started;
    private SidecarWebSocketException? _fault;

    public HttpConnectTunnel(ITransport inner, ProxyRoute route)
    {
        _inner = inner;
        _route = route;
    }

    public Socket Socket => _inner.Socket;

    public PipeReader Input => _inner.Input;

    public PipeWriter Output => _inner.Output;

    public bool HasPendingOutput => _open ? _inner.HasPendingOutput : !_requestRemaining.IsEmpty;

    public SocketError LastError { get; private set; }

    public SidecarWebSocketException? Fault => _fault ?? _inner.Fault;

    public SidecarWebSocketException? DescribeStall() =>
        _open
            ? _inner.DescribeStall()
            : new WebSocketHandshakeException($"The proxy {_route.Proxy} did not answer CONNECT {_route.Authority} before the connect deadline.");

    public TransportStatus ReceiveAvailable()
    {
        if (_open)
        {
            return _inner.ReceiveAvailable();
        }

        if (_fault is not null)
        {
            return TransportStatus.Failed;
        }

        while (true)
        {
            // One byte past what is needed would already belong to the target: peek, then take only the header.
            Span<byte> room = _response.AsSpan(_responseLength);
            if (room.IsEmpty)
            {
                return Refuse(null, "an answer longer than " + MaxResponseBytes + " bytes");
            }

            int count = Socket.Receive(room, SocketFlags.Peek, out SocketError error);
            if (error is SocketError.WouldBlock or SocketError.Interrupted)
            {
                return TransportStatus.WouldBlock;
            }

            if (error != SocketError.Success)
            {
                LastError = error;
                _fault = new WebSocketConnectionException($"The connection to the proxy {_route.Proxy} failed: {error}.", new SocketException((int)error));
                return TransportStatus.Failed;
            }

            if (count == 0)
            {
                return Refuse(null, "the proxy closed the connection");
            }

            ReadOnlySpan<byte> seen = _response.AsSpan(0, _responseLength + count);
            ProxyConnectParse parse = ProxyConnectResponse.TryParse(seen, MaxResponseBytes, out int status, out string? reason, out int headerLength);
            int take = parse == ProxyConnectParse.Complete ? headerLength - _responseLength : count;
            int taken = Socket.Receive(room[..take], SocketFlags.None, out error);
            if (error != SocketError.Success || taken != take)
            {
                LastError = error == SocketError.Success ? SocketError.ConnectionAborted : error;
                _fault = new WebSocketConnectionException($"Reading the proxy's answer failed: {LastError}.");
                return TransportStatus.Failed;
            }

            _responseLength += take;
            switch (parse)
            {
                case ProxyConnectParse.Invalid:
                    return Refuse(null, "an answer that is not HTTP");
                case ProxyConnectParse.NeedMoreData:
                    continue;
            }

            if (status is < 200 or > 299)
            {
                return Refuse(status, reason);
            }

            _open = true;
            // The upgrade request (or the TLS ClientHello) waited for the tunnel.
            TransportStatus sent = _inner.SendBuffered();
            if (sent == TransportStatus.Failed)
            {
                return sent;
            }

            return _inner.ReceiveAvailable();
        }
    }

    public TransportStatus SendBuffered()
    {
        if (_open)
        {
            return _inner.SendBuffered();
        }

        if (_fault is not null)
        {
            return TransportStatus.Failed;
        }

        if (!_started)
        {
            _started = true;
            _requestRemaining = _route.BuildRequest();
        }

        while (!_requestRemaining.IsEmpty)
        {
            int count = Socket.Send(_requestRemaining.Span, SocketFlags.None, out SocketError error);
            if (error == SocketError.Success)
            {
                _requestRemaining = _requestRemaining[count..];
                continue;
            }

            if (error is SocketError.WouldBlock or SocketError.Interrupted)
            {
                return TransportStatus.WouldBlock;
            }

            LastError = error;
            _fault = new WebSocketConnectionException($"Sending CONNECT to the proxy {_route.Proxy} failed: {error}.", new SocketException((int)error));
            return TransportStatus.Failed;
        }

        // The request is out; the session's bytes wait for the answer (not "pending": nothing for the socket yet).
        return TransportStatus.Done;
    }

    public void ShutdownSend() => _inner.ShutdownSend();

    public void Close(bool abortive) => _inner.Close(abortive);

    public void Dispose() => _inner.Dispose();

    private TransportStatus Refuse(int? status, string? reason)
    {
        LastError = SocketError.ConnectionRefused;
        string what = status is { } code ? $"{code}{(reason is null ? "" : " " + reason)}" : reason ?? "no answer";
        _fault = new WebSocketHandshakeException($"The proxy {_route.Proxy} refused CONNECT {_route.Authority}: {what}.", status);
        return TransportStatus.Failed;
    }
}
