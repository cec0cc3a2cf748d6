using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using FastSidecar.Connection;
using FastSidecar.Protocol.Handshake;
using FastSidecar.Transport;

namespace FastSidecar.Session;

/// <summary>The client's connect phase: resolving and racing attempts belong to an <see cref="EndpointConnector"/>; the session takes the winner.</summary>
internal sealed partial class WebSocketSession : IConnectOwner
{
    // Owned from StartClient until it reports; Finish disposes it, which closes every attempt still pending.
    private EndpointConnector? _connector;
    private TimeSpan _connectTimeout;

    /// <summary>
    /// Client role: resolves <paramref name="host"/>, connects to one of its addresses (RFC 8305 order) and runs the
    /// opening handshake, all under <paramref name="timeout"/>.
    /// </summary>
    /// <param name="host">The URI's host: a name or an IP literal.</param>
    /// <param name="port">The TCP port.</param>
    /// <param name="handshake">The upgrade request to send once connected.</param>
    /// <param name="timeout">The deadline for resolving, connecting and the opening handshake together.</param>
    /// <param name="lookup">The resolver for names that need one; null for the system's.</param>
    public void StartClient(string host, int port, ClientHandshake handshake, TimeSpan timeout, Func<string, CancellationToken, Task<IPAddress[]>>? lookup)
    {
        _loop.AssertOnLoopThread();
        Debug.Assert(_phase == SessionPhase.Idle);
        _clientHandshake = handshake;
        _loop.Own(this);
        _phase = SessionPhase.Connecting;
        _connectTimeout = timeout;
        // Armed before resolving starts: the deadline covers the name lookup as well as the attempts.
        ArmDeadline(timeout);
        _connector = new EndpointConnector(_loop, host, port, this, lookup);
        _connector.Start();
    }

    void IConnectOwner.OnEndpointConnected(Socket socket)
    {
        _connector = null; // it has closed the losers and let go of the winner
        // The socket was counted in LiveConnections when its attempt created it; Finish uncounts it with the transport.
        _transport = new SocketTransport(socket, _pool.AsMemoryPool());
        OnConnected();
    }

    void IConnectOwner.OnEndpointFailed(WebSocketConnectionException error)
    {
        _connector = null;
        Fail(error, sendCloseCode: null);
    }

    /// <summary>The connect deadline's error, naming the host, port and every address tried.</summary>
    private WebSocketConnectionException ConnectTimedOut() =>
        _connector?.TimedOut(_connectTimeout) ?? new WebSocketConnectionException("Connecting timed out.", new SocketException((int)SocketError.TimedOut));
}
