using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Net.WebSockets;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using System.Text;
using FastSidecar.Connection;
using FastSidecar.Diagnostics;
using FastSidecar.Protocol;
using FastSidecar.Protocol.Handshake;
using FastSidecar.Session;

using FastSidecar.Transport;

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
public sealed partial class SidecarWebSocket : IDisposable
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

    /// <summary>True once the connection opened with permessage-deflate in force (set on the loop before the open is published).</summary>
    internal bool IsDeflateNegotiated => _connection.Session.IsDeflateNegotiated;

    /// <summary>The current state.</summary>
    public SidecarWebSocketState State =>
        _exited ? SidecarWebSocketState.Exited
        : _connection.HasEnded ? SidecarWebSocketState.Closed
        : _connection.IsReconnecting ? SidecarWebSocketState.Reconnecting
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
    /// <exception cref="WebSocketTlsException">The TLS handshake of a <c>wss://</c> connection failed (see <see cref="WebSocketTlsException.Failure"/>).</exception>
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
        var handshake = new ClientHandshake(uri, options.SubProtocols, options.Headers, options.MaxHandshakeHeaderBytes, options.Deflate);
        // The name (the proxy's, when one is used) is resolved on the loop, under ConnectTimeout (see Connection/EndpointConnector).
        ProxyRoute? proxy = ProxyRoute.For(uri, options.Proxy);
        return new SidecarWebSocket(uri, new ClientConnection(uri, options, handshake, proxy));
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
}
