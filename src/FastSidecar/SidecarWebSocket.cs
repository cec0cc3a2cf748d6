using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using FastSidecar.Buffers;
using FastSidecar.Loop;
using FastSidecar.Protocol;
using FastSidecar.Protocol.Handshake;
using FastSidecar.Queues;
using FastSidecar.Session;

namespace FastSidecar;

/// <summary>
/// A WebSocket client whose I/O runs on a loop thread, driven through a synchronous API from any number of
/// application threads.
/// </summary>
/// <remarks>
/// <para>
/// Thread-safety: <see cref="Send(ReadOnlySpan{byte}, MessageType)"/>, <see cref="TrySend"/>, <see cref="Receive(TimeSpan)"/>,
/// <see cref="TryReceive"/> and <see cref="Exit"/> are safe from any thread at any time. Messages from one sending
/// thread keep their order. The socket, the parser and every protocol decision belong to the loop thread; the
/// application reaches them only through two bounded lock-free queues.
/// </para>
/// <para>
/// Failures: the first error on the loop (socket error, protocol violation, close by the peer) is recorded once and
/// thrown, as a <see cref="SidecarWebSocketException"/> subclass, by every later <c>Send</c>, and by <c>Receive</c>
/// once the messages that arrived before it have been taken.
/// </para>
/// </remarks>
public sealed class SidecarWebSocket : IDisposable
{
    private static readonly Action<object?> s_start = static state => ((SidecarWebSocket)state!).StartOnLoop();
    private static readonly Action<object?> s_beginClose = static state => ((SidecarWebSocket)state!).BeginCloseOnLoop();

    // Slack over the loop's own deadlines when an application thread waits for the loop: the loop enforces the real
    // deadline with its timer; this only keeps a caller from waiting forever if the loop itself were wedged.
    private static readonly TimeSpan s_loopSlack = TimeSpan.FromSeconds(1);

    private readonly SidecarOptions _options;
    private readonly SidecarLoop _loop;
    private readonly bool _ownsLoop;
    private readonly SidecarBufferPool _pool;
    private readonly BoundedMpscQueue<OutboundMessage> _sendQueue;
    private readonly BoundedSpmcQueue<ReceivedMessage> _receiveQueue;
    private readonly WebSocketSession _session;
    private readonly EndPoint _endPoint;
    private ClientHandshake? _handshake;

    private readonly ManualResetEventSlim _settled = new(false); // open, or ended before opening
    private readonly ManualResetEventSlim _ended = new(false);   // the session released everything
    private readonly ManualResetEventSlim _exitDone = new(false);

    private int _state; // SidecarWebSocketState

    // Set on the loop once the opening handshake completed, before _settled. The state alone cannot tell: a peer that
    // closes (or breaks the protocol) right after the handshake moves it on before the connecting thread looks.
    private volatile bool _opened;
    private volatile SidecarWebSocketException? _fault;
    private SessionEnd _end;              // written by the loop before _ended is set
    private volatile bool _deliveryStopped;
    private long _messagesReceived;       // loop thread
    private long _messagesDroppedAtExit;  // loop thread, after _deliveryStopped
    private int _exitStarted;
    private ShutdownReport? _report;

    // Application threads inside a Send/Receive that may touch a queue's ring. Each announces itself here before it
    // checks the state, so Exit, which sets the state first, can tell when the rings are unreachable (RecycleRings).
    // Written by every call from every thread, so it gets a cache line of its own.
    private PaddedLong _queueUsers;

    private SidecarWebSocket(Uri uri, SidecarOptions options, EndPoint endPoint, ClientHandshake handshake)
    {
        Uri = uri;
        _options = options;
        _endPoint = endPoint;
        _handshake = handshake;
        _pool = options.BufferPool;
        _ownsLoop = options.Loop is null;
        _loop = options.Loop ?? new SidecarLoop(new SidecarLoopOptions { Name = "FastSidecar " + uri.Authority, WaitStrategy = options.WaitStrategy });
        // Pooled rings: Exit gives them back once it can prove nobody can reach them (see RecycleRings).
        _sendQueue = new BoundedMpscQueue<OutboundMessage>(options.SendQueueCapacity, _loop.WaitPolicy, pooledRing: true);
        _receiveQueue = new BoundedSpmcQueue<ReceivedMessage>(options.ReceiveQueueCapacity, _loop.WaitPolicy, pooledRing: true);
        _session = new WebSocketSession(_loop, new Events(this), WebSocketRole.Client, _pool,
            options.MaxMessageSize, options.CloseTimeout, options.MaxHandshakeHeaderBytes);
        _session.ConfigureKeepAlive(options.KeepAliveInterval, options.KeepAliveTimeout);
        _loop.Post(s_start, this);
    }

    /// <summary>The server address.</summary>
    public Uri Uri { get; }

    /// <summary>The subprotocol the server selected, or null.</summary>
    public string? SubProtocol { get; private set; }

    /// <summary>The current state.</summary>
    public SidecarWebSocketState State => (SidecarWebSocketState)Volatile.Read(ref _state);

    /// <summary>The loop this connection runs on.</summary>
    public SidecarLoop Loop => _loop;

    /// <summary>Messages queued by <c>Send</c> and not yet taken by the loop (a snapshot).</summary>
    public int PendingSendCount => _sendQueue.Count;

    /// <summary>Received messages waiting for <c>Receive</c> (a snapshot).</summary>
    public int PendingReceiveCount => _receiveQueue.Count;

    /// <summary>
    /// Connects to <paramref name="uri"/> and completes the opening handshake, blocking until the connection is open.
    /// </summary>
    /// <exception cref="ArgumentException">An option or the URI is invalid.</exception>
    /// <exception cref="NotSupportedException">The URI is <c>wss://</c>: TLS is not available yet.</exception>
    /// <exception cref="WebSocketConnectionException">The TCP connection failed or timed out.</exception>
    /// <exception cref="WebSocketHandshakeException">The server rejected the upgrade or answered wrongly.</exception>
    public static SidecarWebSocket Connect(Uri uri, SidecarOptions? options = null)
    {
        SidecarWebSocket socket = Start(uri, options);
        try
        {
            socket.WaitUntilOpen();
            return socket;
        }
        catch
        {
            socket.Exit();
            throw;
        }
    }

    /// <summary>
    /// Starts connecting and returns at once, in <see cref="SidecarWebSocketState.Connecting"/>. Messages sent before the
    /// connection opens are queued and go out when it does. Use <see cref="WaitUntilOpen"/> to wait, or
    /// <see cref="Exit"/> to give up.
    /// </summary>
    public static SidecarWebSocket Start(Uri uri, SidecarOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(uri);
        options ??= SidecarOptions.Default;
        options.Validate();
        ValidateUri(uri);
        var handshake = new ClientHandshake(uri, options.SubProtocols, options.Headers, options.MaxHandshakeHeaderBytes);
        EndPoint endPoint = Resolve(uri);
        return new SidecarWebSocket(uri, options, endPoint, handshake);
    }

    /// <summary>Blocks until the connection is open; throws the error that prevented it otherwise.</summary>
    public void WaitUntilOpen()
    {
        TimeSpan wait = _options.ConnectTimeout == Timeout.InfiniteTimeSpan ? Timeout.InfiniteTimeSpan : _options.ConnectTimeout + s_loopSlack;
        if (!_settled.Wait(wait))
        {
            throw new WebSocketConnectionException($"The connection did not open within {_options.ConnectTimeout}.");
        }

        // A connection that opened and ended at once (the server sent its messages and then a close, or a protocol
        // error) still opened: Connect returns it, and Receive hands out what arrived before the end, then throws.
        if (!_opened)
        {
            ThrowEnded();
        }
    }

    /// <summary>
    /// Queues a message: copies <paramref name="payload"/> into a pooled buffer and hands it to the loop. Blocks while
    /// the send queue is full, up to <see cref="SidecarOptions.SendTimeout"/>.
    /// </summary>
    /// <exception cref="TimeoutException">The queue stayed full for the whole send timeout; the message was not queued.</exception>
    /// <exception cref="SidecarWebSocketException">The connection has ended, or <see cref="Exit"/> was called.</exception>
    public void Send(ReadOnlySpan<byte> payload, MessageType type = MessageType.Binary)
    {
        if (!Enqueue(payload, type, _options.SendTimeout))
        {
            throw new TimeoutException($"The send queue stayed full for {_options.SendTimeout}; the message was not sent.");
        }
    }

    /// <summary>Queues a message if the send queue has room; never blocks.</summary>
    /// <returns>False when the queue is full (the message was not queued).</returns>
    /// <exception cref="SidecarWebSocketException">The connection has ended, or <see cref="Exit"/> was called.</exception>
    public bool TrySend(ReadOnlySpan<byte> payload, MessageType type = MessageType.Binary) => Enqueue(payload, type, TimeSpan.Zero);

    /// <summary>
    /// Takes the next received message, waiting up to <paramref name="timeout"/>. A timeout ends only the wait: the
    /// connection and any partly received message are untouched.
    /// </summary>
    /// <exception cref="TimeoutException">No message arrived in time.</exception>
    /// <exception cref="SidecarWebSocketException">The connection ended and every message that arrived before has been taken.</exception>
    public ReceivedMessage Receive(TimeSpan timeout)
    {
        // Full fence: the announcement is visible before ThrowIfExited reads the exit flag (pairs with RecycleRings).
        Interlocked.Increment(ref _queueUsers.Value);
        try
        {
            return ReceiveAnnounced(timeout);
        }
        finally
        {
            Interlocked.Decrement(ref _queueUsers.Value);
        }
    }

    private ReceivedMessage ReceiveAnnounced(TimeSpan timeout)
    {
        ThrowIfExited();
        QueueWaitResult result;
        ReceivedMessage message;
        while ((result = _receiveQueue.Dequeue(out message, timeout)) == QueueWaitResult.Success && message.IsViolationMarker)
        {
            // Every message before the peer's violation has been taken: the loop fails the connection now, and this
            // wait ends when it has (the wait starts over once, bounded by the close timeout on the loop).
            _session.RequestDeferredViolation();
        }

        switch (result)
        {
            case QueueWaitResult.Success:
                OnDequeued();
                return message;
            case QueueWaitResult.TimedOut:
                throw new TimeoutException($"No message arrived within {timeout}.");
            default:
                ThrowIfExited();
                ThrowEnded();
                return default;
        }
    }

    /// <summary>Takes the next received message, waiting as long as it takes (or until the connection ends).</summary>
    public ReceivedMessage Receive() => Receive(Timeout.InfiniteTimeSpan);

    /// <summary>Takes a received message if one is waiting; never blocks.</summary>
    /// <exception cref="SidecarWebSocketException">The connection ended and every message that arrived before has been taken.</exception>
    public bool TryReceive(out ReceivedMessage message)
    {
        // Full fence: see Receive.
        Interlocked.Increment(ref _queueUsers.Value);
        try
        {
            return TryReceiveAnnounced(out message);
        }
        finally
        {
            Interlocked.Decrement(ref _queueUsers.Value);
        }
    }

    private bool TryReceiveAnnounced(out ReceivedMessage message)
    {
        ThrowIfExited();
        if (_receiveQueue.TryDequeue(out message))
        {
            if (message.IsViolationMarker)
            {
                _session.RequestDeferredViolation(); // see Receive
                return TryReceiveAnnounced(out message);
            }

            OnDequeued();
            return true;
        }

        if (_receiveQueue.IsCompleted)
        {
            // The queue completes after the last delivery, so an empty completed queue stays empty.
            if (_receiveQueue.TryDequeue(out message) && !message.IsViolationMarker)
            {
                OnDequeued();
                return true;
            }

            ThrowIfExited();
            ThrowEnded();
        }

        return false;
    }

    /// <summary>
    /// The shutdown protocol: stops taking messages, closes the WebSocket (flushing what is queued, then waiting for the
    /// peer's close up to <see cref="SidecarOptions.CloseTimeout"/>), stops the loop's work for this connection, and joins
    /// the loop thread when the connection owns it. Idempotent and safe from several threads at once: every caller gets
    /// the same report. Threads blocked in <c>Send</c> or <c>Receive</c> wake with <see cref="WebSocketClosedException"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called on the loop thread, which Exit has to wait for.</exception>
    public ShutdownReport Exit()
    {
        if (_loop.IsOnLoopThread)
        {
            throw new InvalidOperationException("Exit waits for the loop thread and cannot run on it; call it from an application thread.");
        }

        if (Interlocked.Exchange(ref _exitStarted, 1) != 0)
        {
            _exitDone.Wait();
            return _report!;
        }

        try
        {
            _report = new ShutdownSequence(this).Run();
            return _report;
        }
        finally
        {
            _exitDone.Set();
        }
    }

    /// <summary>Runs <see cref="Exit"/> if it has not run.</summary>
    public void Dispose() => Exit();

    private bool Enqueue(ReadOnlySpan<byte> payload, MessageType type, TimeSpan timeout)
    {
        // Full fence: the announcement is visible before the state check below (pairs with RecycleRings).
        Interlocked.Increment(ref _queueUsers.Value);
        try
        {
            return EnqueueAnnounced(payload, type, timeout);
        }
        finally
        {
            Interlocked.Decrement(ref _queueUsers.Value);
        }
    }

    private bool EnqueueAnnounced(ReadOnlySpan<byte> payload, MessageType type, TimeSpan timeout)
    {
        ThrowIfCannotSend();
        if (type is not (MessageType.Text or MessageType.Binary))
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown message type.");
        }

        byte[] buffer = _pool.Rent(payload.Length);
        payload.CopyTo(buffer);
        var message = new OutboundMessage(buffer, payload.Length, type);
        QueueWaitResult result = timeout == TimeSpan.Zero
            ? (_sendQueue.TryEnqueue(message) ? QueueWaitResult.Success : _sendQueue.IsCompleted ? QueueWaitResult.Completed : QueueWaitResult.TimedOut)
            : _sendQueue.Enqueue(message, timeout);
        if (result == QueueWaitResult.Success)
        {
            _session.ScheduleDrain();
            return true;
        }

        _pool.Return(buffer);
        if (result == QueueWaitResult.Completed)
        {
            ThrowIfCannotSend();
            throw new WebSocketClosedException("The connection is closed; the message was not sent.");
        }

        return false;
    }

    private void OnDequeued()
    {
        if (_session.IsReceivePaused)
        {
            _session.RequestResume();
        }
    }

    private void ThrowIfCannotSend()
    {
        var state = (SidecarWebSocketState)Volatile.Read(ref _state);
        if (state is SidecarWebSocketState.Open or SidecarWebSocketState.Connecting)
        {
            return;
        }

        ThrowIfExited();
        ThrowEnded();
    }

    private void ThrowIfExited()
    {
        if (Volatile.Read(ref _exitStarted) != 0)
        {
            throw new WebSocketClosedException("Exit was called on this connection.", _end.CloseCode, _end.CloseReason);
        }
    }

    [DoesNotReturn]
    private void ThrowEnded()
    {
        SidecarWebSocketException? fault = _fault;
        if (fault is null)
        {
            throw new WebSocketClosedException("The connection is closed.", _end.CloseCode, _end.CloseReason);
        }

        // Rethrow the recorded cause itself, so callers can catch it by type and read its close status.
        ExceptionDispatchInfo.Throw(fault);
    }

    private void StartOnLoop()
    {
        ClientHandshake handshake = _handshake!;
        _handshake = null;
        if (Volatile.Read(ref _exitStarted) != 0)
        {
            _session.Abort("Exit was called before connecting started");
            return;
        }

        _session.StartClient(_endPoint, handshake, _options.ConnectTimeout);
    }

    private void BeginCloseOnLoop() => _session.BeginClose(WebSocketCloseCode.NormalClosure, null);

    private ValueTask AbortOnLoop()
    {
        _session.Abort("Exit stopped the connection");
        return ValueTask.CompletedTask;
    }

    private static void ValidateUri(Uri uri)
    {
        if (!uri.IsAbsoluteUri)
        {
            throw new ArgumentException($"The URI must be absolute: '{uri}'.", nameof(uri));
        }

        if (uri.Scheme == "wss")
        {
            throw new NotSupportedException(
                "wss:// is not supported yet: TLS is planned as a transport (SslStream over an in-loop stream) behind the existing transport seam. Use ws://.");
        }

        if (uri.Scheme != "ws")
        {
            throw new ArgumentException($"The URI scheme must be ws:// (got '{uri.Scheme}').", nameof(uri));
        }

        if (!string.IsNullOrEmpty(uri.Fragment))
        {
            throw new ArgumentException("A WebSocket URI must not have a fragment (RFC 6455 §3).", nameof(uri));
        }
    }

    private static IPEndPoint Resolve(Uri uri)
    {
        int port = uri.IsDefaultPort ? 80 : uri.Port;
        if (IPAddress.TryParse(uri.IdnHost, out IPAddress? address))
        {
            return new IPEndPoint(address, port);
        }

        IPAddress[] addresses;
        try
        {
            addresses = Dns.GetHostAddresses(uri.IdnHost);
        }
        catch (SocketException e)
        {
            throw new WebSocketConnectionException($"Could not resolve '{uri.IdnHost}': {e.SocketErrorCode}.", e);
        }

        if (addresses.Length == 0)
        {
            throw new WebSocketConnectionException($"'{uri.IdnHost}' resolved to no address.");
        }

        // Prefer IPv4: 'localhost' often lists ::1 first while servers listen on 127.0.0.1 only.
        IPAddress chosen = Array.Find(addresses, a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses[0];
        return new IPEndPoint(chosen, port);
    }

    /// <summary>The session's callbacks, on the loop thread; kept off the public type.</summary>
    private sealed class Events(SidecarWebSocket owner) : ISessionOwner
    {
        public void OnOpened(WebSocketSession session, string? subProtocol)
        {
            owner.SubProtocol = subProtocol;
            owner._opened = true;
            Interlocked.CompareExchange(ref owner._state, (int)SidecarWebSocketState.Open, (int)SidecarWebSocketState.Connecting);
            owner._settled.Set();
        }

        public bool TryDeliver(WebSocketSession session, in InboundMessage message)
        {
            if (owner._deliveryStopped)
            {
                // Exit has begun: the application takes nothing more; the message is counted, not delivered.
                owner._pool.Return(message.Buffer);
                owner._messagesDroppedAtExit++;
                return true;
            }

            if (!owner._receiveQueue.TryEnqueue(new ReceivedMessage(message.Buffer, message.Length, message.Type, owner._pool)))
            {
                return false;
            }

            owner._messagesReceived++;
            return true;
        }

        public bool TryDeferViolation(WebSocketSession session) =>
            !owner._deliveryStopped && owner._receiveQueue.TryEnqueue(ReceivedMessage.ViolationMarker);

        public bool TryTakeOutbound(out OutboundMessage message) => owner._sendQueue.TryDequeue(out message);

        public void OnClosed(WebSocketSession session, in SessionEnd end)
        {
            owner._end = end;
            if (end.Fault is not null)
            {
                owner._fault ??= end.Fault;
            }

            int state = Volatile.Read(ref owner._state);
            if (state != (int)SidecarWebSocketState.Exited)
            {
                Interlocked.CompareExchange(ref owner._state, (int)SidecarWebSocketState.Closed, state);
            }

            // The end is published before the queues complete: an application thread that learns of the end from a
            // completed queue and calls Exit at once must find the session ended, not still closing.
            owner._settled.Set();
            owner._ended.Set();

            // Completing wakes blocked senders (they throw) and receivers (they drain what arrived, then throw).
            owner._sendQueue.Complete();
            owner._receiveQueue.Complete();
        }
    }

    /// <summary>The four steps of <see cref="Exit"/>, each timed and bounded.</summary>
    private readonly struct ShutdownSequence(SidecarWebSocket owner)
    {
        public ShutdownReport Run()
        {
            var steps = new List<ShutdownStep>(4);
            var previous = (SidecarWebSocketState)Interlocked.Exchange(ref owner._state, (int)SidecarWebSocketState.Exited);

            // 1. Stop taking new work: Send throws from now on; the loop stops delivering.
            long start = Stopwatch.GetTimestamp();
            owner._deliveryStopped = true;
            owner._sendQueue.Complete();
            owner._receiveQueue.Complete();
            steps.Add(new ShutdownStep("stop taking work", Stopwatch.GetElapsedTime(start), ShutdownOutcome.Completed, "sends refused, delivery stopped"));

            // 2. Close the WebSocket, waiting on the session's end event, never by polling.
            start = Stopwatch.GetTimestamp();
            string initiator;
            ShutdownStep closeStep;
            if (owner._ended.IsSet)
            {
                initiator = owner._end.Kind == SessionEndKind.ClosedByPeer ? "peer" : "error";
                closeStep = new ShutdownStep("close the WebSocket", Stopwatch.GetElapsedTime(start), ShutdownOutcome.Skipped,
                    $"already closed ({owner._end.Kind})");
            }
            else
            {
                owner._loop.Post(s_beginClose, owner);
                TimeSpan wait = owner._options.CloseTimeout == Timeout.InfiniteTimeSpan ? Timeout.InfiniteTimeSpan : owner._options.CloseTimeout + s_loopSlack;
                bool ended = owner._ended.Wait(wait);
                // Who started the closing is what the session saw, not who asked last: a peer close (or a failure) already
                // under way when Exit was called finishes under Exit's wait but was not started by it.
                initiator = previous == SidecarWebSocketState.Connecting ? "none"
                    : !ended ? "application"
                    : owner._end.Kind switch
                    {
                        SessionEndKind.ClosedByPeer => "peer",
                        SessionEndKind.Failed => "error",
                        SessionEndKind.Aborted => "none",
                        _ => "application",
                    };
                closeStep = new ShutdownStep("close the WebSocket", Stopwatch.GetElapsedTime(start), CloseOutcome(ended, owner._end),
                    ended ? CloseDetail(owner._end) : "the loop did not finish the close in time");
            }

            steps.Add(closeStep);

            // 3. Stop the loop's work for this connection: abort whatever the close left open (its timers go with it),
            //    then return every queued buffer and count the messages that never went out or were never taken.
            start = Stopwatch.GetTimestamp();
            ShutdownOutcome stopOutcome = ShutdownOutcome.Completed;
            if (!owner._ended.IsSet)
            {
                try
                {
                    owner._loop.Invoke(owner.AbortOnLoop, owner._options.JoinTimeout);
                }
                catch (TimeoutException)
                {
                    stopOutcome = ShutdownOutcome.TimedOut; // the loop's own stop below aborts what it owns
                }
            }

            (long notSent, long notConsumed) = owner._ownsLoop ? (0, 0) : owner.DrainQueues();
            TimeSpan stopped = Stopwatch.GetElapsedTime(start);

            // 4. Join the thread, when the connection owns its loop; a shared loop belongs to whoever created it.
            start = Stopwatch.GetTimestamp();
            bool joined = true;
            ShutdownStep joinStep;
            if (owner._ownsLoop)
            {
                LoopStopReport stop = owner._loop.Stop(owner._options.JoinTimeout);
                joined = stop.Joined;
                (notSent, notConsumed) = owner.DrainQueues(); // after the loop is gone no other consumer can race us
                if (joined)
                {
                    owner.RecycleRings();
                }
                joinStep = new ShutdownStep("join the thread", Stopwatch.GetElapsedTime(start), joined ? ShutdownOutcome.Completed : ShutdownOutcome.TimedOut,
                    joined ? "loop thread ended" : $"loop thread still running after {owner._options.JoinTimeout}");
            }
            else
            {
                joinStep = new ShutdownStep("join the thread", TimeSpan.Zero, ShutdownOutcome.Skipped, "shared loop: its owner joins it");
            }

            steps.Add(new ShutdownStep("stop the loop", stopped, stopOutcome,
                $"{notSent} queued sends not sent, {notConsumed} received not consumed"));
            steps.Add(joinStep);
            SessionEnd end = owner._end;
            return new ShutdownReport(steps, end.CloseCode, end.CloseReason, initiator,
                end.MessagesSent, end.MessagesNotSent + owner._notSentAtExit, owner._messagesReceived,
                owner._notConsumedAtExit + owner._messagesDroppedAtExit, joined,
                initiator == "application" ? null : owner._fault);
        }

        private static ShutdownOutcome CloseOutcome(bool ended, in SessionEnd end) => !ended
            ? ShutdownOutcome.TimedOut
            : end.Kind switch
            {
                SessionEndKind.ClosedByUs when end.ClosedAbortively => ShutdownOutcome.TimedOut, // the TCP close never came
                SessionEndKind.ClosedByUs => ShutdownOutcome.Completed,
                SessionEndKind.CloseTimedOut => ShutdownOutcome.TimedOut,
                SessionEndKind.Aborted => ShutdownOutcome.Completed,
                SessionEndKind.ClosedByPeer => ShutdownOutcome.Completed,
                _ => ShutdownOutcome.Failed,
            };

        private static string CloseDetail(in SessionEnd end) => end.Kind switch
        {
            SessionEndKind.ClosedByUs when end.ClosedAbortively => "peer answered the close but kept TCP open: reset at the close timeout",
            SessionEndKind.ClosedByUs => "peer answered the close; TCP closed",
            SessionEndKind.CloseTimedOut => "peer silent: closed abortively at the close timeout",
            SessionEndKind.ClosedByPeer => "peer closed first",
            SessionEndKind.Aborted => "aborted before the connection opened",
            _ => "the connection failed while closing",
        };
    }

    private long _notSentAtExit;
    private long _notConsumedAtExit;

    /// <summary>
    /// Exit, after the final drain with the owned loop thread joined: gives both rings back for the next connection,
    /// unless an application thread might still be inside a Send or Receive.
    /// </summary>
    /// <remarks>
    /// A Dekker pair with the announcement in Enqueue/Receive/TryReceive. Exit wrote _exitStarted and _state with
    /// interlocked exchanges (full fences) before this read; a caller increments _queueUsers (a full fence) before it
    /// reads them. So either we see its count and keep the rings (they go to the collector with this object), or it
    /// sees the exit and throws before touching a queue. The loop, the only other user, has been joined; a shared loop
    /// is never joined here, so its connections never recycle.
    /// </remarks>
    private void RecycleRings()
    {
        if (Volatile.Read(ref _queueUsers.Value) != 0)
        {
            return;
        }

        _sendQueue.RecycleRing();
        _receiveQueue.RecycleRing();
    }

    /// <summary>After the loop let go of this connection: returns every queued buffer and counts the messages.</summary>
    private (long NotSent, long NotConsumed) DrainQueues()
    {
        while (_sendQueue.TryDequeue(out OutboundMessage outbound))
        {
            _pool.Return(outbound.Buffer);
            _notSentAtExit++;
        }

        while (_receiveQueue.TryDequeue(out ReceivedMessage inbound))
        {
            if (!inbound.IsViolationMarker)
            {
                inbound.Dispose();
                _notConsumedAtExit++;
            }
        }

        return (_notSentAtExit, _notConsumedAtExit);
    }
}
