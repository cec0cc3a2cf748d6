using System.Net;
using System.Net.Sockets;

namespace FastSidecar.Loop;

/// <summary>A selector over <see cref="Socket.Select(System.Collections.IList, System.Collections.IList, System.Collections.IList, int)"/>, for platforms without epoll.</summary>
/// <remarks>
/// The wake-up channel is a UDP socket connected to itself on the loopback interface: <see cref="Signal"/> sends one
/// datagram to it, which makes it readable and ends the select. Unlike an <see cref="AutoResetEvent"/>, it can be
/// waited on in the same call as the sockets. This selector allocates per wait (Select rebuilds its lists); it exists
/// for portability, not speed. Sockets are never closed here; a socket closed while registered is reported once as an
/// error and dropped from the set.
/// </remarks>
internal sealed class PortableSelector : ReadinessSelector
{
    private readonly Socket _wake;
    private readonly byte[] _wakeBuffer = new byte[16]; // loop thread only (drain)
    private readonly Dictionary<Socket, (ulong Token, SocketInterest Interest)> _sockets = new(ReferenceEqualityComparer.Instance);
    private readonly List<Socket> _read = [];
    private readonly List<Socket> _write = [];
    private readonly List<Socket> _error = [];
    private readonly Dictionary<Socket, Readiness> _ready = new(ReferenceEqualityComparer.Instance);
    private static readonly byte[] s_wakeByte = [1];

    public PortableSelector()
    {
        _wake = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            _wake.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _wake.Connect(_wake.LocalEndPoint!);
            _wake.Blocking = false;
        }
        catch
        {
            _wake.Dispose();
            throw;
        }
    }

    public override void Add(Socket socket, ulong token, SocketInterest interest) => _sockets.Add(socket, (token, interest));

    public override void Modify(Socket socket, ulong token, SocketInterest interest) => _sockets[socket] = (token, interest);

    public override void Remove(Socket socket) => _sockets.Remove(socket);

    public override int Wait(int timeoutMilliseconds, ReadyEvent[] events)
    {
        _read.Clear();
        _write.Clear();
        _error.Clear();
        _read.Add(_wake);
        int written = 0;
        foreach ((Socket socket, (ulong token, SocketInterest interest)) in _sockets)
        {
            if (socket.SafeHandle.IsClosed)
            {
                events[written++] = new ReadyEvent(token, Readiness.Error);
                if (written == events.Length)
                {
                    break;
                }

                continue;
            }

            if ((interest & SocketInterest.Read) != 0)
            {
                _read.Add(socket);
            }

            if ((interest & SocketInterest.Write) != 0)
            {
                _write.Add(socket);
            }

            _error.Add(socket);
        }

        if (written > 0)
        {
            return written; // report closed sockets first; their owners remove them
        }

        int microseconds = timeoutMilliseconds < 0 ? -1 : (int)Math.Min(int.MaxValue, timeoutMilliseconds * 1000L);
        try
        {
            Socket.Select(_read, _write.Count > 0 ? _write : null, _error, microseconds);
        }
        catch (ObjectDisposedException)
        {
            return 0; // a socket was closed by its owner during the wait; the next wait reports it
        }

        _ready.Clear();
        foreach (Socket socket in _read)
        {
            if (ReferenceEquals(socket, _wake))
            {
                DrainWake();
                continue;
            }

            _ready[socket] = Readiness.Readable;
        }

        foreach (Socket socket in _write)
        {
            _ready[socket] = _ready.GetValueOrDefault(socket) | Readiness.Writable;
        }

        foreach (Socket socket in _error)
        {
            _ready[socket] = _ready.GetValueOrDefault(socket) | Readiness.Error;
        }

        foreach ((Socket socket, Readiness readiness) in _ready)
        {
            if (written == events.Length)
            {
                break; // level-triggered: the rest is reported by the next wait
            }

            events[written++] = new ReadyEvent(_sockets[socket].Token, readiness);
        }

        return written;
    }

    public override void Signal()
    {
        try
        {
            _wake.Send(s_wakeByte, SocketFlags.None, out _); // WouldBlock: the socket is already readable, which suffices
        }
        catch (ObjectDisposedException)
        {
            // stopped: nobody to wake
        }
    }

    public override void Dispose() => _wake.Dispose();

    private void DrainWake()
    {
        while (_wake.Available > 0)
        {
            _wake.Receive(_wakeBuffer, 0, _wakeBuffer.Length, SocketFlags.None, out SocketError error);
            if (error != SocketError.Success)
            {
                break;
            }
        }
    }
}
