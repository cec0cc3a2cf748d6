using System.Net;
using System.Net.Sockets;
using FastSidecar.Loop;
using FastSidecar.Loop.Interop;

namespace FastSidecar.Connection;

/// <summary>One non-blocking TCP connect to one address: its socket, its readiness registration, and its outcome.</summary>
/// <remarks>
/// Loop thread only, except <see cref="Open"/> and <see cref="Dispose"/> of an attempt the connecting thread made before
/// the loop had the connection (<see cref="EarlyConnect"/>), which touch no loop state. The attempt owns its socket until <see cref="Detach"/> hands it to the connection that won the
/// race; <see cref="Dispose"/> closes it otherwise, on every path. The socket counts in
/// <see cref="SidecarDiagnostics.LiveConnections"/> from creation, so a test sees an attempt that was never released;
/// after <see cref="Detach"/> the session that took the socket uncounts it when it closes it.
/// </remarks>
internal sealed class ConnectAttempt : ISocketHandler, IDisposable
{
    private SidecarLoop? _loop;           // both null until a connector adopts an early attempt
    private EndpointConnector? _owner;
    private Socket? _socket;
    private SocketRegistration? _registration;

    public ConnectAttempt(SidecarLoop? loop, EndpointConnector? owner, IPEndPoint endPoint)
    {
        _loop = loop;
        _owner = owner;
        EndPoint = endPoint;
    }

    public IPEndPoint EndPoint { get; }

    /// <summary>The socket while the attempt owns it.</summary>
    public Socket? Socket => _socket;

    /// <summary>Makes <paramref name="owner"/>, on <paramref name="loop"/>, the connector that hears this attempt's outcome (an early attempt's is chosen on the loop).</summary>
    public void Adopt(SidecarLoop loop, EndpointConnector owner)
    {
        _loop = loop;
        _owner = owner;
    }

    /// <summary>
    /// Creates the socket and starts connecting. <see cref="SocketError.Success"/>: connected already;
    /// <see cref="SocketError.InProgress"/>: the owner hears the outcome through <see cref="EndpointConnector.OnAttemptFinished"/>;
    /// anything else: failed at once (the caller disposes the attempt).
    /// </summary>
    public SocketError Start()
    {
        SocketError started = Open();
        return started == SocketError.InProgress ? Watch() : started;
    }

    /// <summary>Creates the socket and starts connecting, without watching it: any thread. Same results as <see cref="Start"/>.</summary>
    public SocketError Open()
    {
        try
        {
            _socket = new Socket(EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { Blocking = false, NoDelay = true };
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode; // the family is not available on this host
        }

        SidecarDiagnostics.ConnectionOpened();
        return StartConnect(_socket, EndPoint);
    }

    /// <summary>Watches a pending connect for its outcome (loop thread): <see cref="SocketError.InProgress"/>, or failed at once.</summary>
    public SocketError Watch()
    {
        try
        {
            _registration = _loop!.Register(_socket!, this, SocketInterest.Write);
            return SocketError.InProgress;
        }
        catch (ObjectDisposedException)
        {
            return SocketError.OperationAborted; // the loop is stopping: the caller records and disposes the attempt
        }
    }

    /// <summary>Hands the connected socket over; the attempt no longer owns or watches it.</summary>
    public Socket Detach()
    {
        Socket socket = _socket ?? throw new InvalidOperationException("The attempt has no socket.");
        _registration?.Dispose();
        _registration = null;
        _socket = null;
        return socket;
    }

    void ISocketHandler.OnReadable()
    {
        // Interest is write only; a connecting socket has nothing to read.
    }

    void ISocketHandler.OnWritable() => Finish();

    void ISocketHandler.OnError() => Finish();

    /// <summary>Closes the socket if it is still owned here: a failed attempt, a loser, or an attempt the deadline cut off.</summary>
    public void Dispose()
    {
        _registration?.Dispose();
        _registration = null;
        if (_socket is null)
        {
            return;
        }

        try
        {
            // A loser may have connected meanwhile: reset it rather than leave a FIN handshake behind.
            _socket.LingerState = new LingerOption(true, 0);
        }
        catch (SocketException)
        {
        }

        _socket.Dispose();
        _socket = null;
        SidecarDiagnostics.ConnectionClosed();
    }

    private void Finish()
    {
        // Level-triggered: stop watching first, so the outcome is reported exactly once.
        _registration?.Dispose();
        _registration = null;
        _owner!.OnAttemptFinished(this, ReadSocketError());
    }

    private SocketError ReadSocketError()
    {
        try
        {
            return (SocketError)(int)_socket!.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode;
        }
    }

    private static SocketError StartConnect(Socket socket, IPEndPoint endPoint)
    {
        if (LinuxSocket.IsSupported)
        {
            // The pending connect is the normal case, so it must not cost an exception (see LinuxSocket).
            return LinuxSocket.TryStartConnect(socket, endPoint);
        }

        try
        {
            socket.Connect(endPoint);
            return SocketError.Success;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress or SocketError.AlreadyInProgress)
        {
            return SocketError.InProgress;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode;
        }
    }
}
