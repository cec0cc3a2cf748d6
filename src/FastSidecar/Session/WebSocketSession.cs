using System.Diagnostics.CodeAnalysis;
using System.Net.Sockets;
using FastSidecar.Loop;
using FastSidecar.Buffers;
using FastSidecar.Protocol;
using FastSidecar.Protocol.Handshake;
using FastSidecar.Transport;

namespace FastSidecar.Session;

/// <summary>
/// One WebSocket connection as the loop sees it: the socket, the transport's pipes, the frame reader, the close
/// handshake and every deadline. It turns readiness events into protocol progress and protocol events into calls
/// on its <see cref="ISessionOwner"/>. Both roles: the client is the product, the server serves the embedded
/// echo server of the demo, tests and benchmarks.
/// </summary>
/// <remarks>
/// Thread affinity: everything here runs on the loop thread, except the three members an application thread may
/// call (<see cref="ScheduleDrain"/>, <see cref="RequestResume"/>, <see cref="IsReceivePaused"/>), which only
/// flip a flag and post to the loop. Ownership: the session owns its transport (socket and pipes), its frame
/// reader (partial message buffer), a message held back by a full receive queue, and its deadline timer; it
/// releases all of them in <see cref="Finish"/>, which every path ends in exactly once.
/// </remarks>
[SuppressMessage("Design", "CA1001", Justification = "Finish releases the transport and reader on every path; the loop's stop reaches it through ILoopResource.Abort.")]
internal sealed partial class WebSocketSession : ISocketHandler, ILoopResource
{
    private static readonly Action<object?> s_onDeadline = static state => ((WebSocketSession)state!).OnDeadline();

    private readonly SidecarLoop _loop;
    private readonly ISessionOwner _owner;
    private readonly WebSocketRole _role;
    private readonly SidecarBufferPool _pool;
    private readonly FrameReader _reader;
    private readonly MaskKeySource? _maskKeys;
    private readonly TimeSpan _closeTimeout;
    private readonly int _maxHandshakeHeaderBytes;

    [SuppressMessage("Performance", "CA1859", Justification = "The transport interface is the seam where TLS slots in.")]
    private ITransport? _transport;
    private SocketRegistration? _registration;
    private SocketInterest _interest;
    private ClientHandshake? _clientHandshake;
    private TimerSlot _deadline;

    private SessionPhase _phase;
    private bool _closeSent;
    private bool _closeReceived;
    private SessionEndKind _endKind;
    private WebSocketCloseCode? _closeCode;
    private string? _closeReason;
    private SidecarWebSocketException? _fault;

    public WebSocketSession(SidecarLoop loop, ISessionOwner owner, WebSocketRole role, SidecarBufferPool pool,
        long maxMessageSize, TimeSpan closeTimeout, int maxHandshakeHeaderBytes)
    {
        _loop = loop;
        _owner = owner;
        _role = role;
        _pool = pool;
        // The client lays each read burst out in shared blocks (the application releases them); the embedded server
        // echoes each message's own array.
        _reader = new FrameReader(role, maxMessageSize, pool, layOutInBlocks: role == WebSocketRole.Client);
        _maskKeys = role == WebSocketRole.Client ? new MaskKeySource() : null;
        _closeTimeout = closeTimeout;
        _maxHandshakeHeaderBytes = maxHandshakeHeaderBytes;
    }


    void ISocketHandler.OnReadable()
    {
        switch (_phase)
        {
            case SessionPhase.Handshaking:
                ReceiveHandshake();
                break;
            case SessionPhase.Open:
            case SessionPhase.Closing:
                ReceiveFrames();
                break;
        }
    }

    void ISocketHandler.OnWritable()
    {
        switch (_phase)
        {
            case SessionPhase.Handshaking:
            case SessionPhase.Open:
            case SessionPhase.Closing:
                OnSocketWritable();
                break;
        }
    }

    void ISocketHandler.OnError()
    {
        if (_phase is SessionPhase.Closed or SessionPhase.Idle or SessionPhase.Connecting)
        {
            return;
        }

        // Read first: data and the peer's close frame may sit in the buffer ahead of the error.
        ReceiveFrames();
        if (_phase != SessionPhase.Closed)
        {
            SocketError error = ReadSocketError();
            Fail(_transport?.Fault ?? new WebSocketConnectionException($"The connection failed: {error}."), sendCloseCode: null);
        }
    }

    /// <summary>Loop stop: tears the session down without a handshake.</summary>
    void ILoopResource.Abort() => Abort("the loop stopped");

    /// <summary>Ends the session at once, abortively (Exit during connect, loop stop).</summary>
    public void Abort(string why)
    {
        _loop.AssertOnLoopThread();
        if (_phase is SessionPhase.Closed)
        {
            return;
        }

        if (_phase is SessionPhase.Idle or SessionPhase.Connecting or SessionPhase.Handshaking)
        {
            RecordFault(new WebSocketClosedException($"The connection was aborted before it opened: {why}.", WebSocketCloseCode.Abnormal));
        }

        _endKind = _fault is null ? SessionEndKind.Aborted : _endKind;
        Finish(abortive: true);
    }

    private SocketError ReadSocketError()
    {
        try
        {
            return (SocketError)(int)_transport!.Socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode;
        }
        catch (ObjectDisposedException)
        {
            return SocketError.OperationAborted;
        }
    }

    private void SetInterest(SocketInterest interest)
    {
        if (_transport is null || _phase == SessionPhase.Closed)
        {
            return;
        }

        if (_registration is null)
        {
            _registration = _loop.Register(_transport.Socket, this, interest);
            _interest = interest;
            return;
        }

        if (interest != _interest)
        {
            _registration.SetInterest(interest);
            _interest = interest;
        }
    }

    private void ArmDeadline(TimeSpan dueIn)
    {
        CancelDeadline();
        if (dueIn == Timeout.InfiniteTimeSpan)
        {
            return;
        }

        _deadline.Arm(_loop, dueIn, s_onDeadline, this);
    }

    private void CancelDeadline() => _deadline.Cancel(_loop);

    private void OnDeadline()
    {
        _deadline.OnFired();
        switch (_phase)
        {
            case SessionPhase.Connecting:
                Fail(ConnectTimedOut(), sendCloseCode: null);
                break;
            case SessionPhase.Handshaking:
                Fail(_transport?.DescribeStall() ?? new WebSocketHandshakeException("The opening handshake timed out."), sendCloseCode: null);
                break;
            case SessionPhase.Closing:
                // The peer never finished the closing handshake (or never closed TCP): reset instead of waiting on it.
                if (_endKind == SessionEndKind.ClosedByUs && !_closeReceived)
                {
                    _endKind = SessionEndKind.CloseTimedOut;
                }

                Finish(abortive: true);
                break;
        }
    }

    private void RecordFault(SidecarWebSocketException fault)
    {
        // First cause wins: a reset that follows a protocol error must not hide the protocol error.
        if (_fault is null)
        {
            _fault = fault;
            _endKind = SessionEndKind.Failed;
        }
    }

    /// <summary>
    /// Fails the session: records the first cause, sends a close frame with <paramref name="sendCloseCode"/> when the
    /// connection is open and none was sent, then closes under the close deadline.
    /// </summary>
    private void Fail(SidecarWebSocketException fault, WebSocketCloseCode? sendCloseCode)
    {
        if (_phase == SessionPhase.Closed)
        {
            return;
        }

        if (TakeDeferredViolation() is { } violation)
        {
            // Whatever ends the connection now, the violation came first.
            RecordFault(violation);
            _closeCode ??= violation.CloseCode;
            sendCloseCode ??= violation.CloseCode;
        }

        bool firstCause = _fault is null;
        RecordFault(fault);
        if (firstCause && !_closeReceived)
        {
            // The code recorded is what happened on the wire: a close we asked for but never completed does not
            // stand for a connection that failed under it.
            _closeCode = fault.CloseCode;
        }
        else
        {
            _closeCode ??= fault.CloseCode;
        }
        if (sendCloseCode is { } code && _phase is SessionPhase.Open or SessionPhase.Closing && !_closeSent)
        {
            WriteClose((ushort)code, default);
            // Wait for the close frame to drain and for the peer's TCP close, under the close deadline: closing at
            // once with unread input would make the kernel send a reset that can destroy our close frame in flight.
            EnterClosing();
            return;
        }

        Finish(abortive: true);
    }

    /// <summary>Releases everything the session owns, exactly once, and tells the owner.</summary>
    private void Finish(bool abortive)
    {
        if (_phase == SessionPhase.Closed)
        {
            return;
        }

        _phase = SessionPhase.Closed;
        CancelDeadline();
        StopKeepAlive();
        StopFragmentTimer();
        _connector?.Dispose();
        _connector = null;
        TakeDeferredViolation();
        _registration?.Dispose();
        _registration = null;
        long notSent = DropBufferedFrames();
        if (_transport is not null)
        {
            _transport.Close(abortive);
            _transport.Dispose();
            _transport = null;
            SidecarDiagnostics.ConnectionClosed();
        }

        _reader.Dispose();
        ReleaseDeflate();
        ReleaseHeldMessage();
        _loop.Disown(this);
        _owner.OnClosed(this, new SessionEnd(_endKind, _closeCode, _closeReason, _fault, _messagesSent, notSent, abortive));
    }
}
