using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Net.Sockets;
using FastSidecar.Buffers;
using FastSidecar.Loop;
using FastSidecar.Protocol;
using FastSidecar.Protocol.Handshake;

namespace FastSidecar.Testing;

/// <summary>
/// Serves, on a listener of its own and without the session engine, the faults a well-behaved session never commits:
/// a handshake that is never answered (when <c>answersHandshake</c> is false), and after an answered handshake a peer
/// that echoes but never answers a close frame nor closes TCP (<see cref="EchoServerFault.Silent"/>), or one that
/// answers the first message with half a frame and closes TCP (<see cref="EchoServerFault.MidFrame"/>). Frames are
/// parsed and written with the library's protocol layer; the bytes on the wire are this type's own doing. Each
/// connection is closed as soon as its client goes away, so a stress run leaves nothing behind.
/// </summary>
/// <remarks>Loop thread only, except <see cref="LiveConnections"/>. Owns the accepted sockets; the loop's stop aborts them.</remarks>
internal sealed class RawFaultAcceptor(SidecarLoop loop, Socket listener, SidecarBufferPool pool, bool answersHandshake) : ISocketHandler, ILoopResource
{
    private const int MaxHandshakeBytes = 16 * 1024;
    private const long MaxMessageSize = 64L << 20;

    // A frame header announcing 100 bytes of binary payload, followed by only 10 of them.
    private static readonly byte[] s_halfFrame = [0b_1_000_0010, 100, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

    private readonly SidecarBufferPool _pool = pool;
    private readonly bool _answersHandshake = answersHandshake;
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
        if (!TryAccept(listener, out Socket? accepted))
        {
            return;
        }

        accepted.Blocking = false;
        accepted.NoDelay = true;
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

    /// <summary>
    /// Accepts one connection from a non-blocking <paramref name="listener"/>, for the echo server and this acceptor.
    /// One accept per readiness event: the listener is watched level-triggered, so a backlog brings us straight back,
    /// and the common case never pays for the exception a non-blocking Accept throws when nothing is left.
    /// </summary>
    internal static bool TryAccept(Socket listener, [NotNullWhen(true)] out Socket? accepted)
    {
        try
        {
            accepted = listener.Accept();
            return true;
        }
        catch (SocketException)
        {
            // Nothing left (EAGAIN), or the client gave up while queued (ECONNABORTED); readiness reports any other error.
            accepted = null;
            return false;
        }
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

    /// <summary>One accepted connection: reads the handshake (or drops it, when stalling), then plays its fault.</summary>
    [SuppressMessage("Design", "CA1001", Justification = "Close releases the socket and the reader; the acceptor's Abort reaches every open connection.")]
    private sealed class Connection(RawFaultAcceptor owner, Socket socket) : ISocketHandler
    {
        private readonly ArrayBufferWriter<byte> _output = new();
        private byte[] _input = new byte[4096];
        private int _inputLength;
        private int _outputSent;
        private bool _writeInterest;
        private FrameReader? _reader; // set once the handshake is answered
        private EchoServerFault _fault;
        private bool _closeReceived;

        public SocketRegistration? Registration { get; set; }

        public void OnReadable()
        {
            while (true)
            {
                if (_inputLength == _input.Length)
                {
                    Array.Resize(ref _input, _input.Length * 2);
                }

                int count = socket.Receive(_input, _inputLength, _input.Length - _inputLength, SocketFlags.None, out SocketError error);
                if (error == SocketError.WouldBlock)
                {
                    return;
                }

                if (error != SocketError.Success || count == 0)
                {
                    Close(); // end of stream or an error: the client gave up
                    return;
                }

                _inputLength += count;
                if (!owner._answersHandshake || _closeReceived)
                {
                    _inputLength = 0; // a stalled handshake, or bytes after a close nobody will answer: dropped
                    continue;
                }

                if (!Process())
                {
                    return;
                }
            }
        }

        public void OnWritable() => Flush();

        public void OnError() => Close();

        public void Close()
        {
            if (owner._connections.Remove(this))
            {
                Registration?.Dispose();
                socket.Dispose();
                _reader?.Dispose();
                Interlocked.Decrement(ref owner._live);
            }
        }

        /// <summary>Handles what the input holds; false when the connection is closed.</summary>
        private bool Process()
        {
            var input = new ReadOnlySequence<byte>(_input, 0, _inputLength);
            try
            {
                if (_reader is null)
                {
                    if (!ServerHandshake.TryReadRequest(ref input, MaxHandshakeBytes, out ServerHandshakeRequest request))
                    {
                        return true;
                    }

                    _fault = request.Path == "/midframe" ? EchoServerFault.MidFrame : EchoServerFault.Silent;
                    ServerHandshake.WriteAccept(_output, request, subProtocol: null);
                    _reader = new FrameReader(WebSocketRole.Server, MaxMessageSize, owner._pool);
                }

                while (!_closeReceived)
                {
                    FrameReadStatus status = _reader.Read(ref input, out InboundMessage message);
                    if (status == FrameReadStatus.NeedMoreData)
                    {
                        break;
                    }

                    if (status == FrameReadStatus.Message && _fault == EchoServerFault.MidFrame)
                    {
                        owner._pool.Return(message.Buffer);
                        _output.Write(s_halfFrame);
                        Flush();
                        if (owner._connections.Contains(this))
                        {
                            socket.Shutdown(SocketShutdown.Send);
                            Close();
                        }

                        return false;
                    }

                    switch (status)
                    {
                        case FrameReadStatus.Message:
                            FrameWriter.WriteFrame(_output, message.Type == MessageType.Text ? Opcode.Text : Opcode.Binary, fin: true, message.Span, mask: false, 0);
                            owner._pool.Return(message.Buffer);
                            break;
                        case FrameReadStatus.Ping:
                            FrameWriter.WriteFrame(_output, Opcode.Pong, fin: true, _reader.ControlPayload, mask: false, 0);
                            break;
                        case FrameReadStatus.Close:
                            _closeReceived = true; // silent: no close echo, no TCP close; the client's deadline ends it
                            break;
                    }
                }
            }
            catch (Exception e) when (e is WebSocketHandshakeException or WebSocketProtocolException or SocketException)
            {
                Close();
                return false;
            }

            // The reader leaves at most a partial header unconsumed; keep it at the front for the next read.
            int rest = (int)input.Length;
            Array.Copy(_input, _inputLength - rest, _input, 0, rest);
            _inputLength = _closeReceived ? 0 : rest;
            Flush();
            return owner._connections.Contains(this);
        }

        /// <summary>Sends what is buffered; waits for writability when the socket is full.</summary>
        private void Flush()
        {
            while (_outputSent < _output.WrittenCount)
            {
                int sent = socket.Send(_output.WrittenSpan[_outputSent..], SocketFlags.None, out SocketError error);
                if (error == SocketError.WouldBlock)
                {
                    SetWriteInterest(true);
                    return;
                }

                if (error != SocketError.Success)
                {
                    Close();
                    return;
                }

                _outputSent += sent;
            }

            _output.ResetWrittenCount();
            _outputSent = 0;
            SetWriteInterest(false);
        }

        private void SetWriteInterest(bool write)
        {
            if (write != _writeInterest && Registration is { IsDisposed: false } registration)
            {
                registration.SetInterest(write ? SocketInterest.Read | SocketInterest.Write : SocketInterest.Read);
                _writeInterest = write;
            }
        }
    }
}
