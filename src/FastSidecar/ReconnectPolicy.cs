namespace FastSidecar;

/// <summary>
/// How a <see cref="SidecarWebSocket"/> reconnects after its connection is lost (<see cref="SidecarOptions.Reconnect"/>):
/// exponential backoff with full jitter, on the connection's loop timers, and which endings qualify.
/// </summary>
/// <remarks>
/// <para>
/// Attempt <c>n</c> (1 for the first after a loss) waits a uniformly random delay in
/// [0, min(<see cref="MaxDelay"/>, <see cref="InitialDelay"/> × <see cref="Multiplier"/>^(n−1))]: full jitter, so
/// clients cut off together do not come back together. A connection that opens resets the count.
/// After <see cref="MaxAttempts"/> attempts in a row fail, the connection ends with the last attempt's error.
/// </para>
/// <para>
/// Only a connection that opened reconnects: <see cref="SidecarWebSocket.Connect(Uri, SidecarOptions?)"/> still throws
/// when the first connection cannot open, so a wrong address or a refused upgrade shows at once.
/// </para>
/// </remarks>
public sealed class ReconnectPolicy
{
    // RFC 6455 registry codes a server sends when it restarts or sheds load (not in WebSocketCloseCode's names).
    private const WebSocketCloseCode ServiceRestart = (WebSocketCloseCode)1012;
    private const WebSocketCloseCode TryAgainLater = (WebSocketCloseCode)1013;

    /// <summary>The cap of the first attempt's random delay. Default 100 ms.</summary>
    public TimeSpan InitialDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How much the cap grows with each failed attempt; at least 1. Default 2.</summary>
    public double Multiplier { get; init; } = 2;

    /// <summary>The largest cap of any attempt's delay. Default 30 s.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Attempts in a row, after a loss, before the connection gives up and ends; at least 1. Default <see cref="int.MaxValue"/>.</summary>
    public int MaxAttempts { get; init; } = int.MaxValue;

    /// <summary>
    /// Decides whether an ending (the error that ended the connection, or the last failed attempt) reconnects.
    /// Default <see cref="IsTransient"/>. Called on the loop thread: it must not block.
    /// </summary>
    public Func<SidecarWebSocketException, bool> ShouldReconnect { get; init; } = IsTransient;

    /// <summary>
    /// Called on the loop thread after every opening handshake (the first connection's and each reconnection's), before
    /// any message queued by <c>Send</c> is written and before any received message is delivered: what it sends
    /// through the <see cref="ReconnectSender"/> goes out first, ahead of the backlog. Use it to (re)subscribe. It
    /// must not block (the loop serves nothing else meanwhile) and must not call the <see cref="SidecarWebSocket"/>.
    /// An exception from it fails the connection with 1011 (a <see cref="SidecarWebSocketException"/> whose inner
    /// exception is the hook's), which <see cref="IsTransient"/> does not reconnect: the hook would throw again.
    /// </summary>
    public Action<ReconnectSender>? OnConnected { get; init; }

    /// <summary>
    /// The source of the jitter, used on the loop thread only; null for <see cref="Random.Shared"/>. Give a policy its own
    /// seeded <see cref="Random"/> to reproduce the delays (not shared between connections on different loops).
    /// </summary>
    public Random? Jitter { get; init; }

    /// <summary>
    /// The default <see cref="ShouldReconnect"/>: connection failures (refused, reset, timed out, a dead peer caught by
    /// the keep-alive, a TCP close without a close frame), the closes a server sends when it goes away or is
    /// overloaded (1001 going away, 1006, 1011 internal error, 1012 service restart, 1013 try again later), and
    /// handshake answers that say "later" (no answer, 408, 429, 5xx). Not: a normal close (1000), a protocol violation
    /// (either side's), a handshake refusal the server means (401, 403, 404 and other 4xx), a TLS certificate failure.
    /// </summary>
    public static bool IsTransient(SidecarWebSocketException cause)
    {
        ArgumentNullException.ThrowIfNull(cause);
        return cause switch
        {
            WebSocketConnectionException => true,
            WebSocketTlsException tls => tls.Failure is TlsFailure.ConnectionReset or TlsFailure.HandshakeTimedOut,
            WebSocketHandshakeException handshake => handshake.StatusCode is null or 408 or 429 or >= 500,
            WebSocketClosedException closed => closed.CloseCode is null
                or WebSocketCloseCode.EndpointUnavailable or WebSocketCloseCode.Abnormal or WebSocketCloseCode.InternalServerError
                or ServiceRestart or TryAgainLater,
            _ => false,
        };
    }

    /// <summary>The upper bound of attempt <paramref name="attempt"/>'s delay (1-based): the cap full jitter draws under.</summary>
    public TimeSpan DelayCap(int attempt)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempt, 1);
        double ticks = InitialDelay.Ticks * Math.Pow(Multiplier, attempt - 1);
        return ticks >= MaxDelay.Ticks || double.IsNaN(ticks) ? MaxDelay : TimeSpan.FromTicks((long)ticks);
    }

    /// <summary>Draws attempt <paramref name="attempt"/>'s delay: uniform in [0, <see cref="DelayCap"/>]. Loop thread.</summary>
    internal TimeSpan NextDelay(int attempt) =>
        TimeSpan.FromTicks((long)((Jitter ?? Random.Shared).NextDouble() * DelayCap(attempt).Ticks));

    internal void Validate()
    {
        if (InitialDelay < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(InitialDelay), InitialDelay, "Reconnect.InitialDelay must not be negative.");
        }

        if (MaxDelay < InitialDelay)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxDelay), MaxDelay, "Reconnect.MaxDelay must be at least InitialDelay.");
        }

        if (!(Multiplier >= 1) || double.IsInfinity(Multiplier))
        {
            throw new ArgumentOutOfRangeException(nameof(Multiplier), Multiplier, "Reconnect.Multiplier must be a finite number of at least 1.");
        }

        if (MaxAttempts < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxAttempts), MaxAttempts, "Reconnect.MaxAttempts must be at least 1.");
        }

        ArgumentNullException.ThrowIfNull(ShouldReconnect, nameof(ShouldReconnect));
    }
}
