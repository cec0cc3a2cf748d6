using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.WebSockets;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using System.Text;
using FastSidecar.Connection;
using FastSidecar.Diagnostics;
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
/// Thread-safety: every <c>Send</c>, <c>TrySend</c>, <c>Receive</c> and <c>TryReceive</c> overload and both
/// <c>Exit</c> overloads are safe from any thread at any time. Messages from one sending thread keep their order. The socket, the parser and every protocol decision belong to the loop
/// thread; the application reaches them only through two bounded lock-free queues.
/// </para>
/// <para>
/// Failures: the first error on the loop (socket error, protocol violation, close by the peer) is recorded once and
/// thrown, as a <see cref="SidecarWebSocketException"/> subclass, by every later <c>Send</c>, and by <c>Receive</c>
/// once the messages that arrived before it have been taken. <see cref="TryReceive(TimeSpan, out ReceivedMessage)"/>
/// never throws for the end: it returns false, and <see cref="State"/>, <see cref="CloseStatus"/> and
/// <see cref="CloseStatusDescription"/> say how the connection ended.
/// </para>
/// <para>
/// Cancellation: the <see cref="CancellationToken"/> overloads, like the timeouts, end a wait and nothing else; the
/// connection, its queues and any partly received message are untouched.
/// </para>
/// </remarks>
public sealed class SidecarWebSocket : IDisposable
{
    // Slack over the loop's own connect deadline when the connecting thread waits: the loop enforces the real
    // deadline with its timer; this only keeps a caller from waiting forever if the loop itself were wedged.
    private static readonly TimeSpan s_loopSlack = TimeSpan.FromSeconds(1);

    private readonly ClientConnection _connection;
    private readonly ManualResetEventSlim _exitDone = new(false);
    private volatile bool _exited;  // set first by Exit, before anything else it does
    private int _exitStarted;
    private ShutdownReport? _report;

    private SidecarWebSocket(Uri uri, ClientConnection connection)
    {
        Uri = uri;
        _connection = connection;
    }

    /// <summary>The server address.</summary>
    public Uri Uri { get; }

    /// <summary>The subprotocol the server selected, or null.</summary>
    public string? SubProtocol => _connection.SubProtocol;

    /// <summary>The current state.</summary>
    public SidecarWebSocketState State =>
        _exited ? SidecarWebSocketState.Exited
        : _connection.HasEnded ? SidecarWebSocketState.Closed
        : _connection.Opened ? SidecarWebSocketState.Open
        : SidecarWebSocketState.Connecting;

    /// <summary>
    /// The close status the connection ended with (the peer's, or ours when the peer never answered); null while the
    /// connection is open, and when it ended without a close frame being exchanged.
    /// </summary>
    public WebSocketCloseStatus? CloseStatus =>
        _connection.HasEnded && _connection.End.CloseCode is { } code ? (WebSocketCloseStatus)(int)code : null;

    /// <summary>The close reason that went with <see cref="CloseStatus"/>, if any.</summary>
    public string? CloseStatusDescription => _connection.HasEnded ? _connection.End.CloseReason : null;

    /// <summary>The loop this connection runs on.</summary>
    public SidecarLoop Loop => _connection.Loop;

    /// <summary>Messages queued by <c>Send</c> and not yet taken by the loop (a snapshot).</summary>
    public int PendingSendCount => _connection.SendQueue.Count;

    /// <summary>Received messages waiting for <c>Receive</c> (a snapshot).</summary>
    public int PendingReceiveCount => _connection.ReceiveQueue.Count;

    internal ClientConnection Connection => _connection;

    /// <summary>
    /// Connects to <paramref name="uri"/> and completes the opening handshake, blocking until the connection is open.
    /// </summary>
    /// <exception cref="ArgumentException">An option or the URI is invalid.</exception>
    /// <exception cref="NotSupportedException">The URI is <c>wss://</c>: TLS is not available yet.</exception>
    /// <exception cref="WebSocketConnectionException">The TCP connection failed or timed out.</exception>
    /// <exception cref="WebSocketHandshakeException">The server rejected the upgrade or answered wrongly.</exception>
    /// <exception cref="ObjectDisposedException">The shared loop in <see cref="SidecarOptions.Loop"/> has stopped.</exception>
    public static SidecarWebSocket Connect(Uri uri, SidecarOptions? options = null) => Connect(uri, options, CancellationToken.None);

    /// <summary>
    /// Connects to <paramref name="uri"/> like <see cref="Connect(Uri, SidecarOptions?)"/>, and gives up waiting when
    /// <paramref name="cancellationToken"/> is canceled: the half-open connection is then exited (there is nobody to
    /// hand it to) and <see cref="OperationCanceledException"/> is thrown.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was canceled before the connection opened.</exception>
    /// <exception cref="ArgumentException">An option or the URI is invalid.</exception>
    /// <exception cref="WebSocketConnectionException">The TCP connection failed or timed out.</exception>
    /// <exception cref="WebSocketHandshakeException">The server rejected the upgrade or answered wrongly.</exception>
    public static SidecarWebSocket Connect(Uri uri, SidecarOptions? options, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        // Null unless someone listens to the "FastSidecar" activity source.
        using Activity? activity = SidecarMetrics.ActivitySource.StartActivity("FastSidecar.Connect", ActivityKind.Client);
        activity?.SetTag("url.full", uri?.ToString());
        SidecarWebSocket socket = Start(uri!, options);
        try
        {
            socket.WaitUntilOpen(cancellationToken);
            activity?.SetTag("websocket.subprotocol", socket.SubProtocol);
            return socket;
        }
        catch (Exception e)
        {
            activity?.SetStatus(ActivityStatusCode.Error, e.Message);
            activity?.SetTag("error.type", e.GetType().Name);
            socket.Exit();
            throw;
        }
    }

    /// <summary>
    /// Starts connecting and returns at once, in <see cref="SidecarWebSocketState.Connecting"/>. Messages sent before the
    /// connection opens are queued and go out when it does. Use <see cref="WaitUntilOpen()"/> to wait, or
    /// <see cref="Exit()"/> to give up.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The shared loop in <see cref="SidecarOptions.Loop"/> has stopped.</exception>
    public static SidecarWebSocket Start(Uri uri, SidecarOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(uri);
        options ??= SidecarOptions.Default;
        options.Validate();
        ValidateUri(uri);
        var handshake = new ClientHandshake(uri, options.SubProtocols, options.Headers, options.MaxHandshakeHeaderBytes);
        // The name is resolved on the loop, under ConnectTimeout (see Connection/EndpointConnector).
        return new SidecarWebSocket(uri, new ClientConnection(uri, options, handshake));
    }

    /// <summary>
    /// Blocks until the connection is open; throws the error that prevented it otherwise (also when <see cref="Exit()"/>
    /// or the stop of a shared loop ended it first).
    /// </summary>
    public void WaitUntilOpen() => WaitUntilOpen(CancellationToken.None);

    /// <summary>
    /// Blocks until the connection is open, or until <paramref name="cancellationToken"/> is canceled: cancellation
    /// ends the wait only, and the connection keeps connecting (call <see cref="Exit()"/> to give it up).
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was canceled first.</exception>
    /// <exception cref="SidecarWebSocketException">The connection could not open, or ended before it did.</exception>
    public void WaitUntilOpen(CancellationToken cancellationToken)
    {
        TimeSpan timeout = _connection.Options.ConnectTimeout;
        if (!_connection.Settled.Wait(timeout == Timeout.InfiniteTimeSpan ? Timeout.InfiniteTimeSpan : timeout + s_loopSlack, cancellationToken))
        {
            throw new WebSocketConnectionException($"The connection did not open within {timeout}.");
        }

        // A connection that opened and ended at once (the server sent its messages and then a close, or a protocol
        // error) still opened: Connect returns it, and Receive hands out what arrived before the end, then throws.
        if (!_connection.Opened)
        {
            ThrowEnded();
        }
    }

    /// <summary>
    /// Queues a message: copies <paramref name="payload"/> into a pooled buffer and hands it to the loop. Blocks while
    /// the send queue is full, up to <see cref="SidecarOptions.SendTimeout"/>.
    /// </summary>
    /// <exception cref="TimeoutException">The queue stayed full for the whole send timeout; the message was not queued.</exception>
    /// <exception cref="SidecarWebSocketException">The connection has ended, or <see cref="Exit()"/> was called.</exception>
    public void Send(ReadOnlySpan<byte> payload, MessageType type = MessageType.Binary) => Send(payload, type, CancellationToken.None);

    /// <summary>
    /// Queues a message like <see cref="Send(ReadOnlySpan{byte}, MessageType)"/>; a wait for room in a full queue also
    /// ends when <paramref name="cancellationToken"/> is canceled. Cancellation ends the wait only: the message is not
    /// queued and the connection is untouched.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was canceled before the message was queued.</exception>
    /// <exception cref="TimeoutException">The queue stayed full for the whole send timeout; the message was not queued.</exception>
    /// <exception cref="SidecarWebSocketException">The connection has ended, or <see cref="Exit()"/> was called.</exception>
    public void Send(ReadOnlySpan<byte> payload, MessageType type, CancellationToken cancellationToken)
    {
        TimeSpan timeout = _connection.Options.SendTimeout;
        if (!Enqueue(payload, type, timeout, cancellationToken))
        {
            throw new TimeoutException($"The send queue stayed full for {timeout}; the message was not sent.");
        }
    }

    /// <summary>
    /// Queues <paramref name="text"/> as a text message, encoded as UTF-8 straight into a pooled buffer (no copy in
    /// between). Blocks while the send queue is full, up to <see cref="SidecarOptions.SendTimeout"/>. A lone surrogate
    /// is sent as U+FFFD, as <see cref="Encoding.UTF8"/> encodes it, so the message is always valid UTF-8.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    /// <exception cref="TimeoutException">The queue stayed full for the whole send timeout; the message was not queued.</exception>
    /// <exception cref="SidecarWebSocketException">The connection has ended, or <see cref="Exit()"/> was called.</exception>
    public void Send(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Send(text.AsSpan(), CancellationToken.None);
    }

    /// <summary>Queues <paramref name="text"/> as a text message (see <see cref="Send(string)"/>).</summary>
    /// <exception cref="TimeoutException">The queue stayed full for the whole send timeout; the message was not queued.</exception>
    /// <exception cref="SidecarWebSocketException">The connection has ended, or <see cref="Exit()"/> was called.</exception>
    public void Send(ReadOnlySpan<char> text) => Send(text, CancellationToken.None);

    /// <summary>
    /// Queues <paramref name="text"/> as a text message (see <see cref="Send(string)"/>); a wait for room also ends when
    /// <paramref name="cancellationToken"/> is canceled, which ends the wait only.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was canceled before the message was queued.</exception>
    /// <exception cref="TimeoutException">The queue stayed full for the whole send timeout; the message was not queued.</exception>
    /// <exception cref="SidecarWebSocketException">The connection has ended, or <see cref="Exit()"/> was called.</exception>
    public void Send(ReadOnlySpan<char> text, CancellationToken cancellationToken)
    {
        TimeSpan timeout = _connection.Options.SendTimeout;
        if (!EnqueueText(text, timeout, cancellationToken))
        {
            throw new TimeoutException($"The send queue stayed full for {timeout}; the message was not sent.");
        }
    }

    /// <summary>Queues a message if the send queue has room; never blocks.</summary>
    /// <returns>False when the queue is full (the message was not queued).</returns>
    /// <exception cref="SidecarWebSocketException">The connection has ended, or <see cref="Exit()"/> was called.</exception>
    public bool TrySend(ReadOnlySpan<byte> payload, MessageType type = MessageType.Binary) =>
        Enqueue(payload, type, TimeSpan.Zero, CancellationToken.None);

    /// <summary>Queues <paramref name="text"/> as a text message if the send queue has room; never blocks (see <see cref="Send(string)"/>).</summary>
    /// <returns>False when the queue is full (the message was not queued).</returns>
    /// <exception cref="SidecarWebSocketException">The connection has ended, or <see cref="Exit()"/> was called.</exception>
    public bool TrySend(ReadOnlySpan<char> text) => EnqueueText(text, TimeSpan.Zero, CancellationToken.None);

    /// <summary>Queues <paramref name="text"/> as a text message if the send queue has room; never blocks (see <see cref="Send(string)"/>).</summary>
    /// <returns>False when the queue is full (the message was not queued).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    /// <exception cref="SidecarWebSocketException">The connection has ended, or <see cref="Exit()"/> was called.</exception>
    public bool TrySend(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TrySend(text.AsSpan());
    }

    /// <summary>
    /// Takes the next received message, waiting up to <paramref name="timeout"/>. A timeout ends only the wait: the
    /// connection and any partly received message are untouched.
    /// </summary>
    /// <exception cref="TimeoutException">No message arrived in time.</exception>
    /// <exception cref="SidecarWebSocketException">The connection ended and every message that arrived before has been taken.</exception>
    public ReceivedMessage Receive(TimeSpan timeout) => Receive(timeout, CancellationToken.None);

    /// <summary>
    /// Takes the next received message, waiting up to <paramref name="timeout"/> or until
    /// <paramref name="cancellationToken"/> is canceled. Either ends only the wait: the connection and any partly
    /// received message are untouched (unlike <c>ClientWebSocket</c>, which aborts on a canceled receive).
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was canceled before a message arrived.</exception>
    /// <exception cref="TimeoutException">No message arrived in time.</exception>
    /// <exception cref="SidecarWebSocketException">The connection ended and every message that arrived before has been taken.</exception>
    public ReceivedMessage Receive(TimeSpan timeout, CancellationToken cancellationToken)
    {
        // Full fence: the announcement is visible before ThrowIfExited reads the exit flag (pairs with RecycleRings).
        _connection.EnterQueueUse();
        try
        {
            return ReceiveAnnounced(timeout, cancellationToken);
        }
        finally
        {
            _connection.ExitQueueUse();
        }
    }

    /// <summary>Takes the next received message, waiting as long as it takes (or until the connection ends).</summary>
    public ReceivedMessage Receive() => Receive(Timeout.InfiniteTimeSpan);

    /// <summary>Takes the next received message, waiting until one arrives, the connection ends, or <paramref name="cancellationToken"/> is canceled (which ends the wait only).</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was canceled before a message arrived.</exception>
    /// <exception cref="SidecarWebSocketException">The connection ended and every message that arrived before has been taken.</exception>
    public ReceivedMessage Receive(CancellationToken cancellationToken) => Receive(Timeout.InfiniteTimeSpan, cancellationToken);

    /// <summary>
    /// Takes the next received message, waiting up to <paramref name="timeout"/>, without throwing when none comes:
    /// false on a timeout or when the connection has ended (every message that arrived before it has been taken).
    /// <see cref="State"/> says which: <see cref="SidecarWebSocketState.Open"/> after a timeout,
    /// <see cref="SidecarWebSocketState.Closed"/> or <see cref="SidecarWebSocketState.Exited"/> after the end, with
    /// <see cref="CloseStatus"/> and <see cref="CloseStatusDescription"/> saying how it closed. A normal close is a value
    /// here, not an exception; a failure still surfaces from the next <c>Send</c> or <c>Receive</c>.
    /// </summary>
    /// <returns>True with a message to dispose; false with <paramref name="message"/> default.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative and not infinite.</exception>
    public bool TryReceive(TimeSpan timeout, out ReceivedMessage message)
    {
        _connection.EnterQueueUse(); // full fence: see Receive
        try
        {
            if (_exited)
            {
                message = default;
                return false;
            }

            if (_connection.Carried.TryTake(out message))
            {
                return true;
            }

            QueueWaitResult result = DequeueSkippingViolations(out message, timeout, CancellationToken.None);
            if (result == QueueWaitResult.Success)
            {
                OnDequeued();
                return true;
            }

            message = default;
            return false;
        }
        finally
        {
            _connection.ExitQueueUse();
        }
    }

    /// <summary>
    /// Takes the next received message into <paramref name="destination"/>, waiting up to <paramref name="timeout"/>:
    /// no lease to dispose. A message longer than <paramref name="destination"/> is not lost: the call throws and the
    /// message stays first in line for the next receive.
    /// </summary>
    /// <returns>The message's length and type; its bytes are the first <see cref="ReceiveResult.Length"/> of <paramref name="destination"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than the message (its length is in the exception's message).</exception>
    /// <exception cref="TimeoutException">No message arrived in time.</exception>
    /// <exception cref="SidecarWebSocketException">The connection ended and every message that arrived before has been taken.</exception>
    public ReceiveResult Receive(Span<byte> destination, TimeSpan timeout) => CopyOut(Receive(timeout), destination);

    /// <summary>Takes a received message into <paramref name="destination"/> if one is waiting; never blocks (see <see cref="Receive(Span{byte}, TimeSpan)"/>).</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than the message.</exception>
    /// <exception cref="SidecarWebSocketException">The connection ended and every message that arrived before has been taken.</exception>
    public bool TryReceive(Span<byte> destination, out ReceiveResult result)
    {
        if (!TryReceive(out ReceivedMessage message))
        {
            result = default;
            return false;
        }

        result = CopyOut(message, destination);
        return true;
    }

    /// <summary>Takes a received message if one is waiting; never blocks.</summary>
    /// <exception cref="SidecarWebSocketException">The connection ended and every message that arrived before has been taken.</exception>
    public bool TryReceive(out ReceivedMessage message)
    {
        // Full fence: see Receive.
        _connection.EnterQueueUse();
        try
        {
            return TryReceiveAnnounced(out message);
        }
        finally
        {
            _connection.ExitQueueUse();
        }
    }

    /// <summary>
    /// The shutdown protocol: stops taking messages, closes the WebSocket (flushing what is queued, then waiting for the
    /// peer's close, all within <see cref="SidecarOptions.CloseTimeout"/> of this call), stops the loop's work for this
    /// connection, and joins the loop thread when the connection owns it (within <see cref="SidecarOptions.JoinTimeout"/>).
    /// Idempotent and safe from several threads at once: every caller gets the same report. Threads blocked in
    /// <c>Send</c> or <c>Receive</c> wake with <see cref="WebSocketClosedException"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called on the loop thread, which Exit has to wait for.</exception>
    public ShutdownReport Exit() => ExitWith(WebSocketCloseCode.NormalClosure, null);

    /// <summary>
    /// The shutdown protocol of <see cref="Exit()"/>, closing with <paramref name="status"/> and
    /// <paramref name="description"/> instead of 1000 and no reason. Only the first Exit's status goes out; later
    /// calls get the same report.
    /// </summary>
    /// <param name="status">A code an endpoint may send (RFC 6455 §7.4): 1000–1003, 1007–1014 or 3000–4999.</param>
    /// <param name="description">The close reason: at most 123 bytes once encoded as UTF-8 (a close frame's payload is 125 bytes, 2 of them the code).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="status"/> may not be sent in a close frame (1005, 1006, 1015 and the reserved ranges).</exception>
    /// <exception cref="ArgumentException"><paramref name="description"/> is longer than 123 UTF-8 bytes.</exception>
    /// <exception cref="InvalidOperationException">Called on the loop thread, which Exit has to wait for.</exception>
    public ShutdownReport Exit(WebSocketCloseStatus status, string? description)
    {
        if ((int)status is < 0 or > ushort.MaxValue || !CloseCodes.IsValidOnWire((ushort)status))
        {
            throw new ArgumentOutOfRangeException(nameof(status), status,
                "The close status must be one an endpoint may send (RFC 6455 §7.4): 1000-1003, 1007-1014 or 3000-4999.");
        }

        if (description is not null && Encoding.UTF8.GetByteCount(description) > MaxCloseReasonBytes)
        {
            throw new ArgumentException($"The close description must be at most {MaxCloseReasonBytes} bytes as UTF-8 (RFC 6455 §5.5).", nameof(description));
        }

        return ExitWith((WebSocketCloseCode)(ushort)status, description);
    }

    private ShutdownReport ExitWith(WebSocketCloseCode closeCode, string? closeReason)
    {
        if (_connection.Loop.IsOnLoopThread)
        {
            throw new InvalidOperationException("Exit waits for the loop thread and cannot run on it; call it from an application thread.");
        }

        long startedAt = Stopwatch.GetTimestamp();
        if (Interlocked.Exchange(ref _exitStarted, 1) != 0)
        {
            _exitDone.Wait();
            return _report!;
        }

        try
        {
            bool wasOpen = _connection.Opened;
            // A full fence after the flag: pairs with the callers' announcement (see ClientConnection.RecycleRings).
            _exited = true;
            Interlocked.MemoryBarrier();
            using Activity? activity = SidecarMetrics.ActivitySource.StartActivity("FastSidecar.Exit");
            _report = new ShutdownSequence(_connection, wasOpen, closeCode, closeReason).Run(startedAt);
            ExitReporting.Report(_connection, _report, activity);
            return _report;
        }
        finally
        {
            _exitDone.Set();
        }
    }

    /// <summary>The longest close reason a close frame carries, in UTF-8 bytes: 125 of payload less the 2-byte code.</summary>
    private const int MaxCloseReasonBytes = 123;

    /// <summary>Runs <see cref="Exit()"/> if it has not run.</summary>
    public void Dispose() => Exit();

    private ReceivedMessage ReceiveAnnounced(TimeSpan timeout, CancellationToken cancellationToken)
    {
        ThrowIfExited();
        if (_connection.Carried.TryTake(out ReceivedMessage message))
        {
            return message;
        }

        QueueWaitResult result = DequeueSkippingViolations(out message, timeout, cancellationToken);
        switch (result)
        {
            case QueueWaitResult.Success:
                OnDequeued();
                return message;
            case QueueWaitResult.TimedOut:
                throw new TimeoutException($"No message arrived within {timeout}.");
            case QueueWaitResult.Canceled:
                throw new OperationCanceledException("The receive was canceled; the connection is untouched.", cancellationToken);
            default:
                ThrowIfExited();
                ThrowEnded();
                return default;
        }
    }

    private QueueWaitResult DequeueSkippingViolations(out ReceivedMessage message, TimeSpan timeout, CancellationToken cancellationToken)
    {
        BoundedSpmcQueue<ReceivedMessage> queue = _connection.ReceiveQueue;
        QueueWaitResult result;
        while ((result = queue.Dequeue(out message, timeout, cancellationToken)) == QueueWaitResult.Success && message.IsViolationMarker)
        {
            // Every message before the peer's violation has been taken: the loop fails the connection now, and this
            // wait ends when it has (the wait starts over once, bounded by the close timeout on the loop).
            _connection.Session.RequestDeferredViolation();
        }

        return result;
    }

    private bool TryReceiveAnnounced(out ReceivedMessage message)
    {
        ThrowIfExited();
        if (_connection.Carried.TryTake(out message))
        {
            return true;
        }

        BoundedSpmcQueue<ReceivedMessage> queue = _connection.ReceiveQueue;
        while (queue.TryDequeue(out message))
        {
            if (!message.IsViolationMarker)
            {
                OnDequeued();
                return true;
            }

            _connection.Session.RequestDeferredViolation(); // see Receive
        }

        if (queue.IsCompleted)
        {
            // The queue completes after the last delivery, so an empty completed queue stays empty.
            if (queue.TryDequeue(out message) && !message.IsViolationMarker)
            {
                OnDequeued();
                return true;
            }

            ThrowIfExited();
            ThrowEnded();
        }

        return false;
    }

    private ReceiveResult CopyOut(ReceivedMessage message, Span<byte> destination)
    {
        if (message.Length > destination.Length)
        {
            _connection.Carried.Add(message);
            throw new ArgumentException(
                $"The next message is {message.Length} bytes and the destination holds {destination.Length}; it stays first in line for the next receive.",
                nameof(destination));
        }

        return new ReceiveResult(message.CopyToAndDispose(destination), message.Type);
    }

    private bool Enqueue(ReadOnlySpan<byte> payload, MessageType type, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (type is not (MessageType.Text or MessageType.Binary))
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown message type.");
        }

        // Full fence: the announcement is visible before the state check below (pairs with RecycleRings).
        _connection.EnterQueueUse();
        try
        {
            ThrowIfCannotSend();
            byte[] buffer = _connection.Pool.Rent(payload.Length);
            payload.CopyTo(buffer);
            return EnqueueRented(buffer, payload.Length, type, timeout, cancellationToken);
        }
        finally
        {
            _connection.ExitQueueUse();
        }
    }

    private bool EnqueueText(ReadOnlySpan<char> text, TimeSpan timeout, CancellationToken cancellationToken)
    {
        _connection.EnterQueueUse(); // full fence: see Enqueue
        try
        {
            ThrowIfCannotSend();
            // The worst case (3 bytes a char) sizes the buffer without a pass over the text when it is small enough
            // to fit a small pooled buffer anyway; a long text is measured first so it does not take 3 × its size.
            int maxBytes = Encoding.UTF8.GetMaxByteCount(text.Length);
            byte[] buffer = _connection.Pool.Rent(maxBytes <= TextWorstCaseLimit ? maxBytes : Encoding.UTF8.GetByteCount(text));
            int length = Encoding.UTF8.GetBytes(text, buffer);
            return EnqueueRented(buffer, length, MessageType.Text, timeout, cancellationToken);
        }
        finally
        {
            _connection.ExitQueueUse();
        }
    }

    // Texts whose worst-case UTF-8 size is at most this are encoded without measuring them first.
    private const int TextWorstCaseLimit = 4096;

    /// <summary>Hands a filled pooled buffer to the send queue; gives it back to the pool if it is not queued.</summary>
    private bool EnqueueRented(byte[] buffer, int length, MessageType type, TimeSpan timeout, CancellationToken cancellationToken)
    {
        BoundedMpscQueue<OutboundMessage> queue = _connection.SendQueue;
        var message = new OutboundMessage(buffer, length, type);
        QueueWaitResult result = timeout == TimeSpan.Zero
            ? (queue.TryEnqueue(message) ? QueueWaitResult.Success : queue.IsCompleted ? QueueWaitResult.Completed : QueueWaitResult.TimedOut)
            : queue.Enqueue(message, timeout, cancellationToken);
        if (result == QueueWaitResult.Success)
        {
            // Queued: from here the message is sent or counted as not sent (a stopped loop leaves it to Exit's count).
            _connection.Session.ScheduleDrain();
            return true;
        }

        _connection.Pool.Return(buffer);
        if (result == QueueWaitResult.Completed)
        {
            ThrowIfCannotSend();
            throw new WebSocketClosedException("The connection is closed; the message was not sent.");
        }

        if (result == QueueWaitResult.Canceled)
        {
            throw new OperationCanceledException("The send was canceled; the message was not sent and the connection is untouched.", cancellationToken);
        }

        return false;
    }

    private void OnDequeued()
    {
        if (_connection.Session.IsReceivePaused)
        {
            _connection.Session.RequestResume();
        }
    }

    private void ThrowIfCannotSend()
    {
        ThrowIfExited();
        if (_connection.HasEnded)
        {
            ThrowEnded();
        }
    }

    private void ThrowIfExited()
    {
        if (_exited)
        {
            SessionEnd end = _connection.HasEnded ? _connection.End : default;
            throw new WebSocketClosedException("Exit was called on this connection.", end.CloseCode, end.CloseReason);
        }
    }

    [DoesNotReturn]
    private void ThrowEnded()
    {
        SessionEnd end = _connection.HasEnded ? _connection.End : default;
        if (end.Fault is null)
        {
            throw new WebSocketClosedException("The connection is closed.", end.CloseCode, end.CloseReason);
        }

        // Rethrow the recorded cause itself, so callers can catch it by type and read its close status.
        ExceptionDispatchInfo.Throw(end.Fault);
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
}
