using FastSidecar.Loop;
using FastSidecar.Protocol;

namespace FastSidecar.Session;

internal sealed partial class WebSocketSession
{
    private static readonly Action<object?> s_onKeepAlive = static state => ((WebSocketSession)state!).OnKeepAliveTimer();

    private TimeSpan _keepAliveInterval = Timeout.InfiniteTimeSpan;
    private TimeSpan _keepAliveTimeout = Timeout.InfiniteTimeSpan;
    private TimerSlot _keepAliveTimer;
    private bool _heardFromPeer;   // any bytes since the last keep-alive check
    private bool _awaitingPong;    // a probe ping is out and its deadline is running
    private long _keepAlivePings;

    // Pongs written into the output pipe since it last drained to the kernel completely. Up to the limit every ping
    // gets its own pong, as peers that time their pings expect; past it (a peer that pings and does not read) only
    // the latest is answered, once the output drains (RFC 6455 §5.5.3), so pongs cannot pile up in the pipe.
    private const int MaxUnflushedPongs = 64;
    private int _unflushedPongs;
    private readonly PendingPong _pendingPong = new();

    /// <summary>
    /// Loop thread, before the session starts: after <paramref name="interval"/> without a byte from the peer, send a
    /// ping; if nothing at all arrives within <paramref name="timeout"/> after it, the peer is presumed dead and the
    /// session fails. <see cref="Timeout.InfiniteTimeSpan"/> or zero turns it off.
    /// </summary>
    public void ConfigureKeepAlive(TimeSpan interval, TimeSpan timeout)
    {
        _keepAliveInterval = interval <= TimeSpan.Zero ? Timeout.InfiniteTimeSpan : interval;
        _keepAliveTimeout = timeout <= TimeSpan.Zero ? Timeout.InfiniteTimeSpan : timeout;
    }

    private void StartKeepAlive()
    {
        if (_keepAliveInterval != Timeout.InfiniteTimeSpan)
        {
            ArmKeepAlive(_keepAliveInterval);
        }
    }

    private void ArmKeepAlive(TimeSpan dueIn)
    {
        _keepAliveTimer.Arm(_loop, dueIn, s_onKeepAlive, this);
    }

    private void StopKeepAlive()
    {
        _keepAliveTimer.Cancel(_loop);
    }

    private void OnKeepAliveTimer()
    {
        _keepAliveTimer.OnFired();
        if (_phase != SessionPhase.Open)
        {
            return; // closing has deadlines of its own
        }

        if (_heardFromPeer || _receivePaused != 0)
        {
            // A paused reader (the application's queue is full) cannot hear the peer, so silence proves nothing:
            // it is not a dead peer. Otherwise the peer is alive: traffic (or the pong) arrived since the last check.
            _heardFromPeer = false;
            _awaitingPong = false;
            ArmKeepAlive(_keepAliveInterval);
            return;
        }

        if (_awaitingPong)
        {
            _owner.OnKeepAliveTimedOut(this, _keepAliveInterval + _keepAliveTimeout);
            Fail(new WebSocketConnectionException(
                $"The peer sent nothing for {_keepAliveInterval + _keepAliveTimeout}, not even a pong to a keep-alive ping: presumed dead."),
                sendCloseCode: null);
            return;
        }

        Span<byte> payload = stackalloc byte[sizeof(long)];
        BitConverter.TryWriteBytes(payload, ++_keepAlivePings);
        WriteFrame(Opcode.Ping, payload);
        Flush();
        _awaitingPong = true;
        ArmKeepAlive(_keepAliveTimeout == Timeout.InfiniteTimeSpan ? _keepAliveInterval : _keepAliveTimeout);
    }

    /// <summary>Answers a ping now, or, when too many pongs already wait for the output to drain, owes the latest one.</summary>
    private void AnswerPing(ReadOnlySpan<byte> payload)
    {
        if (_unflushedPongs < MaxUnflushedPongs)
        {
            WriteFrame(Opcode.Pong, payload);
            _unflushedPongs++;
        }
        else
        {
            _pendingPong.Set(payload);
        }
    }
}
