using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using FastSidecar.Connection;
using FastSidecar.Loop;
using FastSidecar.Protocol;
using FastSidecar.Protocol.Handshake;
using FastSidecar.Transport;

namespace FastSidecar.Session;

/// <summary>
/// The opening of a connection: the client's connect phase (resolving and racing attempts belong to an
/// <see cref="EndpointConnector"/>; the session takes the winner), the server's accepted socket, and the opening
/// handshake in both roles.
/// </summary>
internal sealed partial class WebSocketSession : IConnectOwner
{
    // Owned from StartClient until it reports; Finish disposes it, which closes every attempt still pending.
    private EndpointConnector? _connector;
    private TimeSpan _connectTimeout;
    private string? _subProtocol;         // the server's choice, from its handshake response
    private byte[]? _unsentEarlyRequest;  // non-null when the connecting thread sent the request (see EarlyConnect): what is left of it

    /// <summary>
    /// Client role: resolves <paramref name="host"/>, connects to one of its addresses (RFC 8305 order) and runs the
    /// opening handshake, all under <paramref name="timeout"/>.
    /// </summary>
    /// <param name="host">The URI's host: a name or an IP literal.</param>
    /// <param name="port">The TCP port.</param>
    /// <param name="handshake">The upgrade request to send once connected.</param>
    /// <param name="timeout">The deadline for resolving, connecting and the opening handshake together.</param>
    /// <param name="lookup">The resolver for names that need one; null for the system's.</param>
    /// <param name="early">The connect (and request) the connecting thread started, if any; the session owns it from here.</param>
    public void StartClient(string host, int port, ClientHandshake handshake, TimeSpan timeout, Func<string, CancellationToken, Task<IPAddress[]>>? lookup,
        EarlyConnect? early = null)
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
        // Only a request sent in full or in part counts: then the early attempt is the connected one, and the only one.
        _unsentEarlyRequest = early is { RequestSent: true } ? early.UnsentRequest : null;
        _connector.Start(early);
    }

    void IConnectOwner.OnEndpointConnected(Socket socket)
    {
        _connector = null; // it has closed the losers and let go of the winner
        // The socket was counted in LiveConnections when its attempt created it; Finish uncounts it with the transport.
        _transport = CreateClientTransport(socket);
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

    /// <summary>Server role: takes an accepted socket and waits for the client's upgrade request under <paramref name="timeout"/>.</summary>
    public void StartServer(Socket accepted, TimeSpan timeout)
    {
        _loop.AssertOnLoopThread();
        Debug.Assert(_phase == SessionPhase.Idle);
        _loop.Own(this);
        accepted.Blocking = false;
        accepted.NoDelay = true;
        _transport = new SocketTransport(accepted, _pool.AsMemoryPool());
        SidecarDiagnostics.ConnectionOpened();
        _phase = SessionPhase.Handshaking;
        ArmDeadline(timeout);
        SetInterest(SocketInterest.Read);
    }

    private void OnConnected()
    {
        Debug.Assert(_clientHandshake is not null && _transport is not null);
        _phase = SessionPhase.Handshaking;
        if (_unsentEarlyRequest is null)
        {
            _clientHandshake.WriteRequest(_transport.Output);
        }
        else if (_unsentEarlyRequest.Length != 0)
        {
            _transport.Output.Write(_unsentEarlyRequest);
        }

        _unsentEarlyRequest = null;
        Flush();
        if (_phase == SessionPhase.Handshaking)
        {
            SetInterest(SocketInterest.Read | (_transport.HasPendingOutput ? SocketInterest.Write : SocketInterest.None));
        }
    }

    private void ReceiveHandshake()
    {
        Debug.Assert(_transport is not null);
        TransportStatus status = _transport.ReceiveAvailable();
        PipeReader input = _transport.Input;
        if (input.TryRead(out ReadResult result))
        {
            ReadOnlySequence<byte> buffer = result.Buffer;
            try
            {
                bool complete = _role == WebSocketRole.Client
                    ? _clientHandshake!.TryReadResponse(ref buffer, out _subProtocol)
                    : TryAcceptClient(ref buffer);
                // Bytes after a complete response are frames nobody has looked at yet: leave them unexamined, or the
                // pipe's next TryRead reports nothing until more bytes arrive (and a server that sent its frames with
                // the response, then waits for us, would wait forever).
                input.AdvanceTo(buffer.Start, complete ? buffer.Start : buffer.End);
                if (complete)
                {
                    OnHandshakeComplete();
                    return;
                }
            }
            catch (WebSocketHandshakeException e)
            {
                input.AdvanceTo(result.Buffer.End);
                Fail(e, sendCloseCode: null);
                return;
            }
        }

        if (status == TransportStatus.EndOfStream)
        {
            Fail(new WebSocketHandshakeException("The peer closed the connection during the opening handshake."), sendCloseCode: null);
        }
        else if (status == TransportStatus.Failed)
        {
            Fail(_transport.Fault ?? new WebSocketConnectionException($"The connection failed during the opening handshake: {_transport.LastError}."), sendCloseCode: null);
        }
        else if (_phase == SessionPhase.Handshaking)
        {
            Flush(); // a TLS transport may have written handshake records, or the upgrade request, while receiving
        }
    }

    /// <summary>Server role: the request target (the RFC 6455 §4.2.1 resource name) of the client's upgrade request, what a server routes on; set before <see cref="ISessionOwner.OnOpened"/>.</summary>
    public string? RequestPath { get; private set; }

    private bool TryAcceptClient(ref ReadOnlySequence<byte> buffer)
    {
        if (!ServerHandshake.TryReadRequest(ref buffer, _maxHandshakeHeaderBytes, out ServerHandshakeRequest request))
        {
            return false;
        }

        RequestPath = request.Path;

        ServerHandshake.WriteAccept(_transport!.Output, request, subProtocol: null);
        return true;
    }

    private void OnHandshakeComplete()
    {
        CancelDeadline();
        _phase = SessionPhase.Open;
        StartDeflate(_clientHandshake?.NegotiatedDeflate);
        _clientHandshake = null;
        SetInterest(SocketInterest.Read);
        StartKeepAlive();
        _owner.OnOpened(this, _subProtocol);
        // Frames may have arrived in the same read as the end of the handshake, and sends may be queued already.
        ProcessInput();
        CheckFragmentedMessage();
        DrainOutbound();
    }
}
