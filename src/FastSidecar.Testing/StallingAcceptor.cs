using System.Net.Sockets;
using FastSidecar.Loop;

namespace FastSidecar.Testing;

/// <summary>
/// Accepts connections and never answers them: a client's handshake waits until its connect timeout. Each
/// connection is closed as soon as its client goes away, so a stress run leaves nothing behind.
/// </summary>
/// <remarks>Loop thread only, except <see cref="LiveConnections"/>. Owns the accepted sockets; the loop's stop aborts them.</remarks>
internal sealed class StallingAcceptor(SidecarLoop loop, Socket listener) : ISocketHandler, ILoopResource
{
    private readonly HashSet<Connection> _connections = [];
    private SocketRegistration? _registration;
    private int _live;

    public int LiveConnections => Volatile.Read(ref _live);

    public void Start()
    {
        _registration = loop.Register(listener, this, SocketInterest.Read);
        loop.Own(this);
    }

    void ISocketHandler.OnReadable()
    {
        // One accept per readiness event: the listener is watched level-triggered, so a backlog brings us straight
        // back, and the common case never pays for the exception a non-blocking Accept throws when nothing is left.
        Socket accepted;
        try
        {
            accepted = listener.Accept();
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.TryAgain or SocketError.Interrupted)
        {
            return;
        }
        catch (SocketException)
        {
            return; // the client gave up while queued (ECONNABORTED); readiness reports any other one
        }

        accepted.Blocking = false;
        var connection = new Connection(this, accepted);
        _connections.Add(connection);
        Interlocked.Increment(ref _live);
        connection.Registration = loop.Register(accepted, connection, SocketInterest.Read);
    }

    void ISocketHandler.OnWritable()
    {
    }

    void ISocketHandler.OnError()
    {
    }

    public void Abort()
    {
        _registration?.Dispose();
        _registration = null;
        foreach (Connection connection in _connections.ToArray())
        {
            connection.Close();
        }

        loop.Disown(this);
    }

    private sealed class Connection(StallingAcceptor owner, Socket socket) : ISocketHandler
    {
        private readonly byte[] _discard = new byte[1024];

        public SocketRegistration? Registration { get; set; }

        public void OnReadable()
        {
            // Read and drop the handshake; end of stream or an error means the client gave up.
            while (true)
            {
                int count = socket.Receive(_discard, SocketFlags.None, out SocketError error);
                if (error == SocketError.WouldBlock)
                {
                    return;
                }

                if (error != SocketError.Success || count == 0)
                {
                    Close();
                    return;
                }
            }
        }

        public void OnWritable()
        {
        }

        public void OnError() => Close();

        public void Close()
        {
            if (owner._connections.Remove(this))
            {
                Registration?.Dispose();
                socket.Dispose();
                Interlocked.Decrement(ref owner._live);
            }
        }
    }
}
