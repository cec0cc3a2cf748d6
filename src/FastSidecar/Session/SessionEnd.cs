namespace FastSidecar.Session;

/// <summary>How a session ended; the facade turns it into exceptions and the shutdown report.</summary>
internal readonly record struct SessionEnd(
    SessionEndKind Kind,
    WebSocketCloseCode? CloseCode,
    string? CloseReason,
    SidecarWebSocketException? Fault,
    long MessagesSent,
    long MessagesNotSent,
    bool ClosedAbortively);

/// <summary>Who or what ended a session.</summary>
internal enum SessionEndKind
{
    /// <summary>We sent a close frame, the peer answered, and TCP closed cleanly.</summary>
    ClosedByUs,

    /// <summary>We sent a close frame and the peer did not answer within the close timeout: closed abortively.</summary>
    CloseTimedOut,

    /// <summary>The peer started the closing handshake.</summary>
    ClosedByPeer,

    /// <summary>A protocol violation, a socket error, or a connect failure.</summary>
    Failed,

    /// <summary>Torn down without a handshake (loop stopping, Exit during connect).</summary>
    Aborted,
}
