using System.Diagnostics;
using FastSidecar.Diagnostics;
using FastSidecar.Loop;
using FastSidecar.Protocol;
using FastSidecar.Protocol.Handshake;
using FastSidecar.Session;
using FastSidecar.Transport;

namespace FastSidecar.Connection;

/// <summary>
/// Reconnecting (<see cref="SidecarOptions.Reconnect"/>): a lost session is accounted for and replaced by a new one
/// after a backoff on the loop's timers, while the queues, and so the application's view, stay the same.
/// </summary>
/// <remarks>
/// <para>
/// Everything here runs on the loop thread. The session is swapped with a full fence before the new one starts: an
/// application thread enqueues, then reads <see cref="Session"/> to schedule a drain. If it read the old session (whose
/// drain does nothing), its enqueue came before the swap, so the new session's first drain, at its open, takes it.
/// </para>
/// <para>
/// The loss goes into the receive queue as a <see cref="ReconnectNotice"/> right away, behind every message of the
/// lost connection. If the queue is full it waits here and goes before the new connection's first message (delivery
/// holds that message, and pauses reading, until the notice fits), so the order is kept either way.
/// </para>
/// <para>
/// While the backoff timer runs, this connection is owned by the loop as an <see cref="ILoopResource"/>: a loop that
/// stops meanwhile ends it, so Exit never waits on a timer that will not fire.
/// </para>
/// </remarks>
internal sealed partial class ClientConnection : ILoopResource
{
    private static readonly Action<object?> s_attemptDue = static state => ((ClientConnection)state!).OnAttemptDue();

    private readonly ProxyRoute? _proxy;
    private volatile WebSocketSession _session;     // replaced on the loop, read by application threads
    private Queue<ReconnectNotice>? _notices;       // losses not yet in the receive queue (loop thread; made at the first loss)
    private TimerSlot _backoff;
    private bool _inBackoff;                        // the backoff timer is armed and the loop owns this connection
    private bool _sessionOpened;                    // the current session opened (metrics and logs per session)
    private volatile bool _reconnecting;            // from a loss until the next open, for State
    private int _attempt;                           // attempts since the last open
    private int _losses;
    private SidecarWebSocketException? _lastCause;
    private ReconnectNotice? _lastNotice;           // for the hook's sender
    private long _earlierSent;                      // sums over lost sessions
    private long _earlierInDoubt;

    /// <summary>True from a loss until the next connection opens (or the connection ends).</summary>
    public bool IsReconnecting => _reconnecting && !HasEnded;

    /// <summary>Messages written to lost connections after their peer was last heard from; read after <see cref="Ended"/>.</summary>
    public long MessagesInDoubt => _earlierInDoubt;

    /// <summary>Connections lost and reconnected (or being reconnected).</summary>
    public int Reconnections => Volatile.Read(ref _losses);

    private bool SessionOpened => _sessionOpened;

    /// <summary>A session for this connection's URI and options, not started.</summary>
    private WebSocketSession CreateSession()
    {
        var session = new WebSocketSession(Loop, this, WebSocketRole.Client, Pool,
            Options.MaxMessageSize, Options.CloseTimeout, Options.MaxHandshakeHeaderBytes)
        {
            MinimumDeflateSize = Options.MinimumDeflateSize,
        };
        session.ConfigureKeepAlive(Options.KeepAliveInterval, Options.KeepAliveTimeout);
        session.ConfigureFragmentLimit(Options.MaxFragmentedMessageDuration);
        if (Uri.Scheme == "wss")
        {
            session.UseTls(Options.Tls, Uri.IdnHost);
        }

        if (_proxy is not null)
        {
            session.UseProxy(_proxy);
        }

        return session;
    }

    /// <summary>A session opened: the attempt count starts over and the hook writes ahead of the queued backlog.</summary>
    private void OnSessionOpened(WebSocketSession session)
    {
        _sessionOpened = true;
        _attempt = 0;
        _reconnecting = false;
        if (Options.Reconnect?.OnConnected is not { } hook)
        {
            return;
        }

        var sender = new ReconnectSender(session, _losses == 0 ? null : _lastNotice);
        try
        {
            hook(sender);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            ReconnectLog.HookFailed(Logger, Uri, e);
            // Not a transient cause: a hook that throws would throw again on every reconnect.
            session.FailFromOwner(new SidecarWebSocketException("The OnConnected hook threw: " + e.Message,
                WebSocketCloseCode.InternalServerError, null, e));
        }
        finally
        {
            sender.Invalidate();
        }
    }

    /// <summary>Decides, when a session ends, whether another one follows; true if it does (the end is not published).</summary>
    private bool TryReconnect(WebSocketSession session, in SessionEnd end)
    {
        ReconnectPolicy? policy = Options.Reconnect;
        if (policy is null || !_opened || _deliveryStopped
            || end.Kind is SessionEndKind.ClosedByUs or SessionEndKind.CloseTimedOut or SessionEndKind.Aborted)
        {
            return false; // off, the first connection never opened, Exit, or a close we made
        }

        SidecarWebSocketException cause = end.Fault
            ?? new WebSocketClosedException("The connection closed.", end.CloseCode, end.CloseReason);
        if (!ShouldReconnect(policy, cause))
        {
            return false;
        }

        _lastCause = cause;
        if (_sessionOpened)
        {
            // An open connection was lost: account for what it took, and mark the place in the receive stream.
            long sent = Math.Min(session.MessagesConfirmed, end.MessagesSent);
            long inDoubt = end.MessagesSent - sent + end.MessagesNotSent;
            _earlierSent += sent;
            _earlierInDoubt += inDoubt;
            _sessionOpened = false;
            SidecarMetrics.ConnectionEnded();
            Interlocked.Increment(ref _losses);
            _lastNotice = new ReconnectNotice(_losses, cause, sent, inDoubt);
            (_notices ??= new Queue<ReconnectNotice>()).Enqueue(_lastNotice);
            TryEnqueueNotices();
            ReconnectLog.ConnectionLost(Logger, Uri, cause.Message, sent, inDoubt);
        }
        else
        {
            ReconnectLog.AttemptFailed(Logger, Uri, _attempt, cause.Message);
            if (_attempt >= policy.MaxAttempts)
            {
                return false; // given up: the end is the last attempt's
            }
        }

        _reconnecting = true;
        _attempt++;
        TimeSpan delay = policy.NextDelay(_attempt);
        TimeSpan cap = policy.DelayCap(_attempt);
        ReconnectLog.AttemptScheduled(Logger, Uri, _attempt, delay.TotalMilliseconds, cap.TotalMilliseconds);
        _inBackoff = true;
        _backoff.Arm(Loop, delay, s_attemptDue, this);
        // Last: a loop already tearing down aborts what it is given at once, and the abort must find the timer armed
        // to cancel it (it publishes the end; this session's end is then not published again).
        Loop.Own(this);
        return true;
    }

    private bool ShouldReconnect(ReconnectPolicy policy, SidecarWebSocketException cause)
    {
        try
        {
            return policy.ShouldReconnect(cause);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            ReconnectLog.HookFailed(Logger, Uri, e);
            return false;
        }
    }

    /// <summary>The backoff ended: a new session replaces the lost one and starts connecting.</summary>
    private void OnAttemptDue()
    {
        _backoff.OnFired();
        if (!_inBackoff)
        {
            return;
        }

        _inBackoff = false;
        Loop.Disown(this);
        if (_deliveryStopped)
        {
            PublishEnd(EndDuringBackoff()); // Exit has begun and its close is on its way: no new connection for it
            return;
        }

        _startedAt = Stopwatch.GetTimestamp();
        WebSocketSession next = CreateSession();
        Interlocked.Exchange(ref _session, next); // a full fence: see the class remarks
        var handshake = new ClientHandshake(Uri, Options.SubProtocols, Options.Headers, Options.MaxHandshakeHeaderBytes, Options.Deflate);
        next.StartClient(_host, _port, handshake, Options.ConnectTimeout, Options.HostLookup);
    }

    /// <summary>Exit during a backoff: ends the connection now, with the last loss as its cause; false if not in a backoff.</summary>
    private bool EndBackoff()
    {
        if (!_inBackoff)
        {
            return false;
        }

        _backoff.Cancel(Loop);
        _inBackoff = false;
        Loop.Disown(this);
        PublishEnd(EndDuringBackoff());
        return true;
    }

    /// <summary>The loop stopped during a backoff: the connection ends (no Disown: the loop is walking its resources).</summary>
    void ILoopResource.Abort()
    {
        if (_inBackoff)
        {
            _backoff.Cancel(Loop);
            _inBackoff = false;
            PublishEnd(EndDuringBackoff());
        }
    }

    private SessionEnd EndDuringBackoff() =>
        new(SessionEndKind.Aborted, _lastCause?.CloseCode, _lastCause?.CloseReason, _lastCause, 0, 0, ClosedAbortively: true);

    /// <summary>Moves waiting notices into the receive queue, in order; false if one did not fit.</summary>
    private bool TryEnqueueNotices()
    {
        while (_notices is not null && _notices.TryPeek(out ReconnectNotice? notice))
        {
            if (!ReceiveQueue.TryEnqueue(new ReceivedMessage(notice)))
            {
                return false;
            }

            _notices.Dequeue();
        }

        return true;
    }

    /// <summary>The final end with the lost sessions' counts added, so the report's sums cover every connection.</summary>
    private SessionEnd WithEarlierConnections(in SessionEnd end) =>
        _losses == 0 ? end : end with { MessagesSent = end.MessagesSent + _earlierSent };
}
