using System.Diagnostics;
using FastSidecar.Buffers;
using FastSidecar.Diagnostics;
using FastSidecar.Loop;
using FastSidecar.Protocol;
using FastSidecar.Protocol.Handshake;
using FastSidecar.Queues;
using FastSidecar.Session;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

using FastSidecar.Transport;

namespace FastSidecar.Connection;

/// <summary>
/// Everything one client connection owns below the public API: its loop (when not shared), its session, the two
/// queues between the application and the loop, and the record of how it ended. The facade hands messages in and
/// takes them out; this type feeds the session from the send queue and the receive queue from the session, so data
/// flows one way.
/// </summary>
/// <remarks>
/// <para>
/// Thread affinity: the <see cref="ISessionOwner"/> members and the <c>*OnLoop</c> methods run on the loop thread;
/// the queues' producer/consumer sides and the events are the only things application threads touch.
/// </para>
/// <para>
/// Who may drain the send queue: it has one consumer, and that consumer is the loop until the session has ended
/// (<see cref="Ended"/> is set after the loop's last dequeue). After that, and only after that, the thread running
/// Exit becomes the consumer. A connection whose loop neither ended the session nor stopped in time is left alone:
/// two consumers on a single-consumer ring would corrupt it.
/// </para>
/// <para>
/// Ending is published once: by the session (<see cref="ISessionOwner.OnClosed"/>) or, when a stopped loop dropped
/// the start (or the close) before it ran, by <see cref="IUnrunWorkState.OnNotRun"/> on the loop thread during its
/// teardown. Either way on the loop thread, so <see cref="End"/> has a single writer.
/// </para>
/// </remarks>
internal sealed partial class ClientConnection : ISessionOwner, IUnrunWorkState
{
    private static readonly Action<object?> s_start = static state => ((ClientConnection)state!).StartOnLoop();
    private static readonly Action<object?> s_beginClose = static state => ((ClientConnection)state!).BeginCloseOnLoop();
    private static readonly Action<object?> s_abort = static state => ((ClientConnection)state!).AbortOnLoop();

    private readonly string _host;
    private readonly int _port;
    private long _startedAt = Stopwatch.GetTimestamp(); // for the connect duration (log and histogram); reset per reconnect attempt
    private ClientHandshake? _handshake;   // until the loop starts the session
    private EarlyConnect? _early;          // the connect this thread started, until the loop starts the session (or never runs it)
    private long _closeDeadline;           // Stopwatch timestamp: Exit's start + CloseTimeout (or long.MaxValue)
    private WebSocketCloseCode _closeCode = WebSocketCloseCode.NormalClosure; // what Exit's close frame carries
    private string? _closeReasonToSend;

    private volatile bool _opened;
    private volatile bool _deliveryStopped;
    private volatile bool _stopLoopAtEnd;  // Exit has begun on a connection that owns its loop (see PublishEnd)

    // Loop thread: messages were queued since consumers were last woken (see ISessionOwner.AnnounceDelivered).
    private bool _deliveredUnannounced;

    private volatile bool _hasEnded;       // written once, on the loop thread, after _end
    private SessionEnd _end;               // written once, on the loop thread, before _hasEnded

    // Application threads inside a Send/Receive that may touch a queue's ring. Each announces itself here before it
    // checks the state, so Exit, which sets the state first, can tell when the rings are unreachable. Written by
    // every call from every thread, so it gets a cache line of its own.
    private PaddedLong _queueUsers;

    public ClientConnection(Uri uri, SidecarOptions options, ClientHandshake handshake, ProxyRoute? proxy = null)
    {
        Options = options;
        Uri = uri;
        Logger = options.LoggerFactory?.CreateLogger(SidecarLog.Category) ?? NullLogger.Instance;
        // Through a proxy, the TCP connection goes to the proxy; the tunnel then reaches the URI's host.
        Uri target = proxy?.Proxy ?? uri;
        _host = target.IdnHost;
        _port = target.Port > 0 ? target.Port : target.Scheme is "wss" or "https" ? 443 : 80;
        _handshake = handshake;
        _proxy = proxy;
        Pool = options.BufferPool;
        OwnsLoop = options.Loop is null;
        // Before the loop thread starts (or is woken), so the server answers meanwhile; see EarlyConnect.
        _early = proxy is null && uri.Scheme == "ws" ? EarlyConnect.TryStart(_host, _port, handshake) : null;
        // One connection's socket (and, while connecting, a raced attempt or two): a small event array will do. Its
        // posts are coalesced (one drain pending at a time, start, close, abort), so a small run queue will do too:
        // the default 4,096 slots were 96 KiB of every idle connection's heap, and a post past the ring overflows to
        // the loop's locked queue, never dropped.
        Loop = options.Loop ?? EarlyConnect.ClosedIfThrows(_early, () => new SidecarLoop(new SidecarLoopOptions
        {
            Name = "FastSidecar " + uri.Authority,
            WaitStrategy = options.WaitStrategy,
            MaxReadinessEvents = 8,
            RunQueueCapacity = OwnedLoopRunQueueCapacity,
        }));

        // Pooled rings: Exit gives them back once it can prove nobody can reach them (see RecycleRings).
        SendQueue = new BoundedMpscQueue<OutboundMessage>(options.SendQueueCapacity, Loop.WaitPolicy, pooledRing: true);
        ReceiveQueue = new BoundedSpmcQueue<ReceivedMessage>(options.ReceiveQueueCapacity, Loop.WaitPolicy, pooledRing: true);
        _session = CreateSession();

        // Registered before the start is posted: the loop may end the session (a refused connect) before this thread
        // runs another line, and the end's removal must find the entry.
        SidecarLog.Connecting(Logger, uri);
        LiveConnections.Add(this);
        if (!Loop.TryPost(new WorkItem(s_start, this)))
        {
            LiveConnections.Remove(this);
            // Only a shared loop can be stopped already; nothing was started, so there is nothing to release but the
            // early connect and the rings.
            _early?.Dispose();
            SendQueue.RecycleRing();
            ReceiveQueue.RecycleRing();
            throw new ObjectDisposedException(nameof(SidecarLoop), "The shared loop has stopped; a connection cannot start on it.");
        }
    }

    /// <summary>The server address.</summary>
    public Uri Uri { get; }

    /// <summary>Where this connection logs (a no-op logger without <see cref="SidecarOptions.LoggerFactory"/>).</summary>
    public ILogger Logger { get; }

    public SidecarOptions Options { get; }

    public SidecarLoop Loop { get; }

    public bool OwnsLoop { get; }

    public SidecarBufferPool Pool { get; }

    /// <summary>The current session; a reconnect replaces it on the loop (see ClientConnection.Reconnect.cs).</summary>
    public WebSocketSession Session => _session;

    public BoundedMpscQueue<OutboundMessage> SendQueue { get; }

    public BoundedSpmcQueue<ReceivedMessage> ReceiveQueue { get; }

    /// <summary>Run-queue slots of a loop that only this connection posts to.</summary>
    internal const int OwnedLoopRunQueueCapacity = 64;

    /// <summary>Set once the handshake completed or the connection ended before it could.</summary>
    public ManualResetEventSlim Settled { get; } = new(false);

    /// <summary>Set once the session ended and released everything; the loop touches neither queue after it.</summary>
    public ManualResetEventSlim Ended { get; } = new(false);

    /// <summary>The connection opened (set before <see cref="Settled"/>): a connection may open and end at once.</summary>
    public bool Opened => _opened;

    /// <summary>How the session ended; read after <see cref="Ended"/> is set.</summary>
    public SessionEnd End => _end;

    /// <summary>The subprotocol the server selected.</summary>
    public string? SubProtocol { get; private set; }

    /// <summary>True once the end is published (before the queues complete); <see cref="End"/> is readable then.</summary>
    public bool HasEnded => _hasEnded;

    /// <summary>Received messages a caller could not take (its buffer was too small), handed out before the queue's.</summary>
    public CarriedMessages Carried { get; } = new();

    /// <summary>Messages delivered to the receive queue (loop thread; read after <see cref="Ended"/>).</summary>
    public long MessagesReceived { get; private set; }

    /// <summary>Messages that arrived after Exit stopped delivery, counted and released (loop thread).</summary>
    public long MessagesDroppedAtExit { get; private set; }

    /// <summary>Queued sends released without being written, by whichever thread drained last.</summary>
    public long MessagesNotSentFromQueue { get; private set; }

    /// <summary>Received messages released at Exit without being taken.</summary>
    public long MessagesNotConsumed { get; private set; }

    /// <summary>Announces an application thread that may touch a queue's ring (a full fence: pairs with <see cref="RecycleRings"/>).</summary>
    public void EnterQueueUse() => Interlocked.Increment(ref _queueUsers.Value);

    /// <summary>Ends the announcement of <see cref="EnterQueueUse"/>.</summary>
    public void ExitQueueUse() => Interlocked.Decrement(ref _queueUsers.Value);

    /// <summary>Exit, step 1: the loop stops handing messages to the application (it counts and drops them).</summary>
    public void StopDelivery() => _deliveryStopped = true;

    /// <summary>Exit, step 2: asks the loop to close with <paramref name="code"/> and <paramref name="reason"/> under a deadline that started at <paramref name="exitStartedAt"/>.</summary>
    /// <returns>False if the loop has stopped (its teardown ends the session instead).</returns>
    public bool RequestClose(long exitStartedAt, WebSocketCloseCode code, string? reason)
    {
        _closeCode = code;
        _closeReasonToSend = reason; // both published to the loop by the work item's post (a full fence)
        _stopLoopAtEnd = OwnsLoop;
        TimeSpan timeout = Options.CloseTimeout;
        Volatile.Write(ref _closeDeadline, timeout == Timeout.InfiniteTimeSpan
            ? long.MaxValue
            : exitStartedAt + (long)(timeout.TotalSeconds * Stopwatch.Frequency));
        return Loop.TryPost(new WorkItem(s_beginClose, this));
    }

    /// <summary>Exit, step 3: asks the loop to abort whatever the close left open.</summary>
    public bool RequestAbort()
    {
        _stopLoopAtEnd = OwnsLoop;
        return Loop.TryPost(new WorkItem(s_abort, this));
    }

    /// <summary>
    /// Exit, after the loop let go of the session: releases every queued message and counts it. The caller must be
    /// the only consumer left (see the class remarks).
    /// </summary>
    public void DrainQueues()
    {
        Debug.Assert(Ended.IsSet, "Only the session's end makes the Exit thread the send queue's consumer.");
        DrainSendQueue();
        MessagesNotConsumed += Carried.DisposeAll();
        while (ReceiveQueue.TryDequeue(out ReceivedMessage inbound))
        {
            if (!inbound.IsViolationMarker)
            {
                inbound.Dispose();
                MessagesNotConsumed++;
            }
        }
    }

    /// <summary>
    /// After the final drain, once the loop has let go of both queues (<see cref="Ended"/> set, or the owned loop
    /// thread joined): gives both rings back for the next connection, unless an application thread might still be
    /// inside a Send or Receive.
    /// </summary>
    /// <remarks>
    /// A Dekker pair with <see cref="EnterQueueUse"/>. Exit wrote the facade's state with an interlocked exchange (a
    /// full fence) before this read; a caller increments the count (a full fence) before it reads the state. So
    /// either we see its count and keep the rings (they go to the collector with this object), or it sees the exit
    /// and throws before touching a queue.
    /// </remarks>
    public void RecycleRings()
    {
        if (Volatile.Read(ref _queueUsers.Value) != 0)
        {
            return;
        }

        SendQueue.RecycleRing();
        ReceiveQueue.RecycleRing();
    }

    /// <summary>Waits (bounded) until no application thread is inside a queue operation; true if none is.</summary>
    /// <remarks>Completed queues wake blocked callers at once, so this is a wait of a few instructions, not a poll of the peer.</remarks>
    public bool WaitForQueueUsers(TimeSpan timeout)
    {
        long deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        SpinWait spinner = default;
        while (Volatile.Read(ref _queueUsers.Value) != 0)
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                return false;
            }

            spinner.SpinOnce();
        }

        return true;
    }

    private void DrainSendQueue()
    {
        while (SendQueue.TryDequeue(out OutboundMessage outbound))
        {
            Pool.Return(outbound.Buffer);
            MessagesNotSentFromQueue++;
        }
    }

    private void StartOnLoop()
    {
        ClientHandshake handshake = _handshake!;
        EarlyConnect? early = _early;
        _handshake = null;
        _early = null;
        Session.StartClient(_host, _port, handshake, Options.ConnectTimeout, Options.HostLookup, early);
    }

    private void BeginCloseOnLoop()
    {
        long remaining = Volatile.Read(ref _closeDeadline) - Stopwatch.GetTimestamp();
        TimeSpan timeout = _closeDeadline == long.MaxValue
            ? Timeout.InfiniteTimeSpan
            : TimeSpan.FromSeconds(Math.Max(0, remaining) / (double)Stopwatch.Frequency);
        if (!EndBackoff())
        {
            Session.BeginClose(_closeCode, _closeReasonToSend, timeout);
        }
    }

    private void AbortOnLoop()
    {
        if (!EndBackoff())
        {
            Session.Abort("Exit stopped the connection");
        }
    }

    void IUnrunWorkState.OnNotRun()
    {
        // The loop stopped before running our start (or close): the session never started, or the teardown has just
        // aborted it (then the end is published already and this does nothing).
        _early?.Dispose();
        _early = null;
        if (!_hasEnded)
        {
            PublishEnd(new SessionEnd(SessionEndKind.Aborted, WebSocketCloseCode.Abnormal, null,
                new WebSocketClosedException("The connection was aborted before it opened: its loop stopped.", WebSocketCloseCode.Abnormal),
                0, 0, true));
        }
    }

    void ISessionOwner.OnOpened(WebSocketSession session, string? subProtocol)
    {
        SubProtocol = subProtocol;
        _opened = true;
        SidecarMetrics.ConnectionOpened();
        Settled.Set();
        TimeSpan elapsed = Stopwatch.GetElapsedTime(_startedAt);
        if (SidecarMetrics.ConnectDuration.Enabled)
        {
            SidecarMetrics.ConnectDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("fastsidecar.outcome", "opened"));
        }

        SidecarLog.Connected(Logger, Uri, elapsed.TotalMilliseconds, subProtocol);
        OnSessionOpened(session);
    }

    void ISessionOwner.OnKeepAliveTimedOut(WebSocketSession session, TimeSpan silence) =>
        SidecarLog.KeepAliveTimedOut(Logger, Uri, silence.TotalMilliseconds);

    void ISessionOwner.OnClosed(WebSocketSession session, in SessionEnd end)
    {
        if (!TryReconnect(session, end))
        {
            PublishEnd(end);
        }
    }

    private void PublishEnd(in SessionEnd end)
    {
        _end = WithEarlierConnections(end);
        _hasEnded = true;
        StopQueueTrim();
        // The loop takes nothing from the send queue any more: release what is left now rather than holding it until
        // Exit (the queue completes below, so only a sender racing the completion can add more; Exit drains that).
        DrainSendQueue();

        // The end is published before the queues complete: an application thread that learns of the end from a
        // completed queue and calls Exit at once must find the session ended, not still closing.
        Settled.Set();

        ReceiveQueue.Announce(); // messages of the current burst not yet published go before the end
        TryEnqueueNotices(); // a notice still waiting for room goes before the end, if it fits now
        // Completing wakes blocked senders (they throw) and receivers (they drain what arrived, then throw).
        SendQueue.Complete();
        ReceiveQueue.Complete();
        // Last: the loop touches neither queue after this, so Exit may give a shared loop's connection's rings back
        // without a join (see ShutdownSequence).
        Ended.Set();
        LiveConnections.Remove(this);
        ReportEnd(end);
        if (_stopLoopAtEnd)
        {
            // Exit is waiting to join this loop and nothing else runs on it: tear down now, while Exit wakes and
            // drains, rather than idle until its stop request has to wake the loop again.
            Loop.RequestStop();
        }
    }

    /// <summary>Logs and measures how the session ended (loop thread, once).</summary>
    private void ReportEnd(in SessionEnd end)
    {
        int? code = end.CloseCode is { } c ? (int)c : null;
        if (SessionOpened)
        {
            SidecarMetrics.ConnectionEnded();
        }
        else if (SidecarMetrics.ConnectDuration.Enabled)
        {
            SidecarMetrics.ConnectDuration.Record(Stopwatch.GetElapsedTime(_startedAt).TotalSeconds,
                new KeyValuePair<string, object?>("fastsidecar.outcome", end.Kind == SessionEndKind.Aborted ? "aborted" : "failed"));
        }

        if (end.Kind == SessionEndKind.Failed && end.Fault is { } fault)
        {
            if (SidecarMetrics.Faults.Enabled)
            {
                SidecarMetrics.Faults.Add(1,
                    new KeyValuePair<string, object?>("fastsidecar.fault.kind", SidecarMetrics.FaultKind(fault)),
                    new KeyValuePair<string, object?>("fastsidecar.close.code", SidecarMetrics.CloseCodeTag(end.CloseCode)));
            }

            if (SessionOpened)
            {
                SidecarLog.Faulted(Logger, Uri, SidecarMetrics.FaultKind(fault), code, fault.Message, fault);
            }
            else
            {
                SidecarLog.ConnectFailed(Logger, Uri, Stopwatch.GetElapsedTime(_startedAt).TotalMilliseconds, fault.Message, fault);
            }

            return;
        }

        string initiator = end.Kind switch
        {
            SessionEndKind.ClosedByUs or SessionEndKind.CloseTimedOut => "application",
            SessionEndKind.ClosedByPeer => "peer",
            _ => "none",
        };
        SidecarLog.Closed(Logger, Uri, code, end.CloseReason, initiator);
    }
}
