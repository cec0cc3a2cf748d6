using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using FastSidecar.Connection;
using FastSidecar.Protocol.Handshake;
using FastSidecar.Queues;
using FastSidecar.Session;

using FastSidecar.Transport;

namespace FastSidecar;

/// <summary>
/// A WebSocket client whose I/O runs on a loop thread, driven through a synchronous API from any number of
/// application threads.
/// </summary>
/// <remarks>
/// <para>
/// Thread-safety: <see cref="Send(ReadOnlySpan{byte}, MessageType)"/>, <see cref="TrySend"/>, <see cref="Receive(TimeSpan)"/>,
/// <see cref="TryReceive(out ReceivedMessage)"/> and <see cref="Exit"/> are safe from any thread at any time. Messages
/// from one sending thread keep their order. The socket, the parser and every protocol decision belong to the loop
/// thread; the application reaches them only through two bounded lock-free queues.
/// </para>
/// <para>
/// Failures: the first error on the loop (socket error, protocol violation, close by the peer) is recorded once and
/// thrown, as a <see cref="SidecarWebSocketException"/> subclass, by every later <c>Send</c>, and by <c>Receive</c>
/// once the messages that arrived before it have been taken.
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
    /// <exception cref="WebSocketTlsException">The TLS handshake of a <c>wss://</c> connection failed (see <see cref="WebSocketTlsException.Failure"/>).</exception>
    /// <exception cref="WebSocketConnectionException">The TCP connection failed or timed out.</exception>
    /// <exception cref="WebSocketHandshakeException">The server rejected the upgrade or answered wrongly.</exception>
    /// <exception cref="ObjectDisposedException">The shared loop in <see cref="SidecarOptions.Loop"/> has stopped.</exception>
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
    /// <exception cref="ObjectDisposedException">The shared loop in <see cref="SidecarOptions.Loop"/> has stopped.</exception>
    public static SidecarWebSocket Start(Uri uri, SidecarOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(uri);
        options ??= SidecarOptions.Default;
        options.Validate();
        ValidateUri(uri);
        var handshake = new ClientHandshake(uri, options.SubProtocols, options.Headers, options.MaxHandshakeHeaderBytes);
        ProxyRoute? proxy = ProxyRoute.For(uri, options.Proxy);
        EndPoint endPoint = proxy is null ? Resolve(uri) : Resolve(proxy.Proxy);
        return new SidecarWebSocket(uri, new ClientConnection(uri, options, endPoint, handshake, proxy));
    }

    /// <summary>
    /// Blocks until the connection is open; throws the error that prevented it otherwise (also when <see cref="Exit"/>
    /// or the stop of a shared loop ended it first).
    /// </summary>
    public void WaitUntilOpen()
    {
        TimeSpan timeout = _connection.Options.ConnectTimeout;
        if (!_connection.Settled.Wait(timeout == Timeout.InfiniteTimeSpan ? Timeout.InfiniteTimeSpan : timeout + s_loopSlack))
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
    /// <exception cref="SidecarWebSocketException">The connection has ended, or <see cref="Exit"/> was called.</exception>
    public void Send(ReadOnlySpan<byte> payload, MessageType type = MessageType.Binary)
    {
        TimeSpan timeout = _connection.Options.SendTimeout;
        if (!Enqueue(payload, type, timeout))
        {
            throw new TimeoutException($"The send queue stayed full for {timeout}; the message was not sent.");
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
        _connection.EnterQueueUse();
        try
        {
            return ReceiveAnnounced(timeout);
        }
        finally
        {
            _connection.ExitQueueUse();
        }
    }

    /// <summary>Takes the next received message, waiting as long as it takes (or until the connection ends).</summary>
    public ReceivedMessage Receive() => Receive(Timeout.InfiniteTimeSpan);

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
    public ShutdownReport Exit()
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
            _report = new ShutdownSequence(_connection, wasOpen).Run(startedAt);
            return _report;
        }
        finally
        {
            _exitDone.Set();
        }
    }

    /// <summary>Runs <see cref="Exit"/> if it has not run.</summary>
    public void Dispose() => Exit();

    private ReceivedMessage ReceiveAnnounced(TimeSpan timeout)
    {
        ThrowIfExited();
        if (_connection.Carried.TryTake(out ReceivedMessage message))
        {
            return message;
        }

        BoundedSpmcQueue<ReceivedMessage> queue = _connection.ReceiveQueue;
        QueueWaitResult result;
        while ((result = queue.Dequeue(out message, timeout)) == QueueWaitResult.Success && message.IsViolationMarker)
        {
            // Every message before the peer's violation has been taken: the loop fails the connection now, and this
            // wait ends when it has (the wait starts over once, bounded by the close timeout on the loop).
            _connection.Session.RequestDeferredViolation();
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

    private bool Enqueue(ReadOnlySpan<byte> payload, MessageType type, TimeSpan timeout)
    {
        // Full fence: the announcement is visible before the state check below (pairs with RecycleRings).
        _connection.EnterQueueUse();
        try
        {
            return EnqueueAnnounced(payload, type, timeout);
        }
        finally
        {
            _connection.ExitQueueUse();
        }
    }

    private bool EnqueueAnnounced(ReadOnlySpan<byte> payload, MessageType type, TimeSpan timeout)
    {
        ThrowIfCannotSend();
        if (type is not (MessageType.Text or MessageType.Binary))
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown message type.");
        }

        BoundedMpscQueue<OutboundMessage> queue = _connection.SendQueue;
        byte[] buffer = _connection.Pool.Rent(payload.Length);
        payload.CopyTo(buffer);
        var message = new OutboundMessage(buffer, payload.Length, type);
        QueueWaitResult result = timeout == TimeSpan.Zero
            ? (queue.TryEnqueue(message) ? QueueWaitResult.Success : queue.IsCompleted ? QueueWaitResult.Completed : QueueWaitResult.TimedOut)
            : queue.Enqueue(message, timeout);
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

        if (uri.Scheme is not ("ws" or "wss"))
        {
            throw new ArgumentException($"The URI scheme must be ws:// or wss:// (got '{uri.Scheme}').", nameof(uri));
        }

        if (!string.IsNullOrEmpty(uri.Fragment))
        {
            throw new ArgumentException("A WebSocket URI must not have a fragment (RFC 6455 §3).", nameof(uri));
        }
    }

    private static IPEndPoint Resolve(Uri uri)
    {
        int port = uri.Port > 0 ? uri.Port : uri.Scheme is "wss" or "https" ? 443 : 80;
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
}
