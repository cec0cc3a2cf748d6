using System.Buffers.Text;
using System.Net;
using System.Net.Sockets;
using FastSidecar.Loop;
using FastSidecar.Buffers;
using FastSidecar.Protocol;
using FastSidecar.Protocol.Handshake;
using FastSidecar.Session;

namespace FastSidecar.Testing;

/// <summary>
/// A WebSocket echo server on the loopback interface, running the same session engine as the client in the server
/// role, on a loop of its own. It serves the demo, the tests and the benchmarks; paths select traffic modes
/// (<see cref="TrafficMode"/>) and the faults a session can commit through its ordinary API (<see cref="EchoServerFault"/>:
/// reset, close after echo). The faults a well-behaved session never commits (silent peer, half a frame) are served
/// on a second port by a <see cref="RawFaultAcceptor"/>, and a third port never answers the handshake (a connect that
/// times out); <see cref="UriFor"/> and <see cref="StallingUri"/> name them.
/// </summary>
/// <remarks>
/// Ownership: the server owns its loop (unless given one), its listening sockets and every accepted session and
/// connection; Dispose stops the loop, which aborts the sessions and closes the sockets.
/// </remarks>
internal sealed class LoopbackEchoServer : ISocketHandler, IDisposable
{
    private static readonly TimeSpan s_handshakeTimeout = TimeSpan.FromSeconds(10);

    private readonly SidecarLoop _loop;
    private readonly bool _ownsLoop;
    private readonly Socket _listener;
    private readonly Socket _faultListener;
    private readonly Socket _stallListener;
    private readonly SidecarBufferPool _pool;
    private readonly TimeSpan _closeTimeout;
    private SocketRegistration? _registration;
    private bool _disposed;

    /// <param name="waitStrategy">The server loop's wait strategy (when it owns its loop).</param>
    /// <param name="pool">Where the server's buffers come from.</param>
    /// <param name="loop">A shared loop to run on; null for one of its own.</param>
    /// <param name="port">The echo port; 0 for any free one (a restarted server passes its old port).</param>
    public LoopbackEchoServer(WaitStrategy waitStrategy = WaitStrategy.SpinThenPark, SidecarBufferPool? pool = null, SidecarLoop? loop = null, int port = 0)
    {
        _pool = pool ?? SidecarBufferPool.Shared;
        _closeTimeout = TimeSpan.FromSeconds(2);
        _ownsLoop = loop is null;
        _loop = loop ?? new SidecarLoop(new SidecarLoopOptions { Name = "FastSidecar echo server", WaitStrategy = waitStrategy });
        _listener = Listen(backlog: 512, port);
        _faultListener = Listen(backlog: 512);
        _stallListener = Listen(backlog: 512);
        _listener.Blocking = false;
        _faultListener.Blocking = false;
        _stallListener.Blocking = false;
        _faults = new RawFaultAcceptor(_loop, _faultListener, _pool, answersHandshake: true);
        _stall = new RawFaultAcceptor(_loop, _stallListener, _pool, answersHandshake: false);
        _loop.Invoke(() =>
        {
            _registration = _loop.Register(_listener, this, SocketInterest.Read);
            _faults.Start();
            _stall.Start();
            return ValueTask.CompletedTask;
        }, TimeSpan.FromSeconds(10));
    }

    private readonly RawFaultAcceptor _faults;
    private readonly RawFaultAcceptor _stall;

    /// <summary>The echo port.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    /// <summary><c>ws://127.0.0.1:port/</c>.</summary>
    public Uri Uri => new($"ws://127.0.0.1:{Port}/");

    /// <summary>The URI of a fault mode.</summary>
    public Uri UriFor(EchoServerFault fault) => fault switch
    {
        EchoServerFault.Reset => new Uri(Uri, "/reset"),
        EchoServerFault.Silent => new Uri($"ws://127.0.0.1:{((IPEndPoint)_faultListener.LocalEndPoint!).Port}/silent"),
        EchoServerFault.MidFrame => new Uri($"ws://127.0.0.1:{((IPEndPoint)_faultListener.LocalEndPoint!).Port}/midframe"),
        EchoServerFault.CloseAfterEcho => new Uri(Uri, "/close"),
        _ => Uri,
    };

    /// <summary>The URI of a flood: <paramref name="count"/> messages of <paramref name="size"/> bytes at once, more on request (see <see cref="TrafficKind.Flood"/>).</summary>
    public Uri FloodUri(int size, long count) => new(Uri, TrafficMode.FloodPath(size, count));

    /// <summary>The URI of the sink that counts binary messages and reports the count (see <see cref="TrafficKind.Sink"/>).</summary>
    public Uri SinkUri => new(Uri, "/sink");

    /// <summary>A URI whose TCP connect succeeds but whose handshake is never answered.</summary>
    public Uri StallingUri => new($"ws://127.0.0.1:{((IPEndPoint)_stallListener.LocalEndPoint!).Port}/");

    /// <summary>Sessions, fault connections and stalled connections currently open (loop thread writes, any thread reads).</summary>
    public int LiveSessions => Volatile.Read(ref _liveSessions) + _faults.LiveConnections + _stall.LiveConnections;

    private int _liveSessions;

    /// <summary>Flood messages handed to sessions for sending, over the server's life (for checks that count both ends).</summary>
    public long FloodMessagesGenerated => Interlocked.Read(ref _floodMessagesGenerated);

    private long _floodMessagesGenerated;

    // Open flood sessions, so a check that sees a stall can look at the sending end too (diagnostics only).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<WebSocketSession, byte> _floodSessions = new();

    /// <summary>The sessions currently serving a flood; inspect them on the server's loop thread only.</summary>
    internal ICollection<WebSocketSession> FloodSessions => _floodSessions.Keys;

    /// <summary>The server's loop.</summary>
    internal SidecarLoop Loop => _loop;

    void ISocketHandler.OnReadable()
    {
        if (!RawFaultAcceptor.TryAccept(_listener, out Socket? accepted))
        {
            return;
        }

        var owner = new EchoOwner(this);
        var session = new WebSocketSession(_loop, owner, WebSocketRole.Server, _pool, maxMessageSize: 64L << 20, _closeTimeout, 16 * 1024);
        Interlocked.Increment(ref _liveSessions);
        session.StartServer(accepted, s_handshakeTimeout);
    }

    void ISocketHandler.OnWritable()
    {
    }

    void ISocketHandler.OnError()
    {
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_ownsLoop)
        {
            _loop.Stop(TimeSpan.FromSeconds(5));
        }
        else
        {
            _loop.Invoke(() =>
            {
                _registration?.Dispose();
                _faults.Abort();
                _stall.Abort();
                return ValueTask.CompletedTask;
            }, TimeSpan.FromSeconds(5));
        }

        _listener.Dispose();
        _faultListener.Dispose();
        _stallListener.Dispose();
    }

    private static Socket Listen(int backlog, int port = 0)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (port != 0)
            {
                // A restart on the old port: its connections' TIME_WAIT entries must not block the bind.
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            }

            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            socket.Listen(backlog);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// One accepted connection's behaviour: echo, the fault its path asked for, or a traffic mode. Everything it sends
    /// (echoes, sink counts, flood messages) goes through its outbound queue, the path the client's messages take too.
    /// </summary>
    private sealed class EchoOwner(LoopbackEchoServer server) : ISessionOwner
    {
        private EchoServerFault _fault;
        private TrafficMode _traffic;

        // Flood and sink state, loop thread only: messages still to flood, binary messages absorbed, and replies
        // (echoes, sink counts) waiting for the session's next drain (each owns a pooled buffer until the session takes it).
        private long _floodRemaining;
        private long _floodSequence;
        private long _sunk;
        private Queue<OutboundMessage>? _replies;

        public void OnOpened(WebSocketSession session, string? subProtocol)
        {
            _fault = session.RequestPath switch
            {
                "/reset" => EchoServerFault.Reset,
                "/close" => EchoServerFault.CloseAfterEcho,
                _ => EchoServerFault.None,
            };
            _traffic = _fault == EchoServerFault.None ? TrafficMode.Parse(session.RequestPath) : TrafficMode.Echo;
            // The session drains its outbound queue right after this call, so the initial flood starts without a post.
            _floodRemaining = _traffic.Kind == TrafficKind.Flood ? _traffic.InitialCount : 0;
            if (_traffic.Kind == TrafficKind.Flood)
            {
                server._floodSessions.TryAdd(session, 0);
            }
        }

        public bool TryDeferViolation(WebSocketSession session) => false; // echoes are already written: fail at once

        public bool TryDeliver(WebSocketSession session, in InboundMessage message)
        {
            switch (_traffic.Kind)
            {
                case TrafficKind.Flood:
                    if (message.Type == MessageType.Text && Utf8Parser.TryParse(message.Span, out long more, out int used) && used == message.Length && more > 0)
                    {
                        _floodRemaining += more;
                        session.ScheduleDrain();
                    }

                    server._pool.Return(message.Buffer);
                    return true;
                case TrafficKind.Sink:
                    if (message.Type == MessageType.Binary)
                    {
                        _sunk++;
                    }
                    else
                    {
                        byte[] reply = server._pool.Rent(20);
                        Utf8Formatter.TryFormat(_sunk, reply, out int written);
                        (_replies ??= new Queue<OutboundMessage>()).Enqueue(new OutboundMessage(reply, written, MessageType.Text));
                        session.ScheduleDrain();
                    }

                    server._pool.Return(message.Buffer);
                    return true;
            }

            switch (_fault)
            {
                case EchoServerFault.Reset:
                    server._pool.Return(message.Buffer);
                    // Posted, not inline: the session is in the middle of parsing and must not be torn down under itself.
                    server._loop.Post(static s => ((WebSocketSession)s!).Abort("scripted reset"), session);
                    return true;
                case EchoServerFault.CloseAfterEcho:
                    Echo(session, message);
                    // The close flushes the queue first, so the echo goes out ahead of the close frame.
                    server._loop.Post(static s => ((WebSocketSession)s!).BeginClose(WebSocketCloseCode.EndpointUnavailable, "going away"), session);
                    return true;
                default:
                    Echo(session, message);
                    return true;
            }
        }

        /// <summary>Queues <paramref name="message"/> to go back as it came; its buffer passes to the queue, then to the session.</summary>
        private void Echo(WebSocketSession session, in InboundMessage message)
        {
            (_replies ??= new Queue<OutboundMessage>()).Enqueue(new OutboundMessage(message.Buffer, message.Length, message.Type));
            session.ScheduleDrain();
        }

        public bool TryTakeOutbound(out OutboundMessage message)
        {
            if (_replies is { Count: > 0 })
            {
                message = _replies.Dequeue();
                return true;
            }

            if (_floodRemaining > 0)
            {
                // A fresh pooled buffer per message: the session returns each one to the pool once its frame is written.
                int size = _traffic.MessageSize;
                byte[] buffer = server._pool.Rent(size);
                buffer.AsSpan(0, size).Fill(0x5A);
                if (size >= sizeof(long))
                {
                    // A per-connection sequence number up front, so a receiver can tell a lost message from a late one.
                    System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(buffer, _floodSequence);
                }

                _floodSequence++;
                _floodRemaining--;
                Interlocked.Increment(ref server._floodMessagesGenerated);
                message = new OutboundMessage(buffer, size, MessageType.Binary);
                return true;
            }

            message = default;
            return false;
        }

        public void OnClosed(WebSocketSession session, in SessionEnd end)
        {
            // Replies the session never took still hold pooled buffers.
            while (_replies is { Count: > 0 })
            {
                server._pool.Return(_replies.Dequeue().Buffer);
            }

            _floodRemaining = 0;
            server._floodSessions.TryRemove(session, out _);
            Interlocked.Decrement(ref server._liveSessions);
        }
    }
}
