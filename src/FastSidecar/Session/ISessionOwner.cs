using FastSidecar.Loop;
using FastSidecar.Protocol;

namespace FastSidecar.Session;

/// <summary>
/// What a <see cref="WebSocketSession"/> reports to whoever drives it (the application-facing facade, or the
/// embedded server). Every member is called on the loop thread.
/// </summary>
internal interface ISessionOwner
{
    /// <summary>The opening handshake completed.</summary>
    void OnOpened(WebSocketSession session, string? subProtocol);

    /// <summary>
    /// Takes a complete message; ownership of its buffer passes to the owner on true. False means the owner's
    /// queue is full: the session keeps the message and stops reading the socket until
    /// <see cref="WebSocketSession.ResumeReceiving"/>.
    /// </summary>
    bool TryDeliver(WebSocketSession session, in InboundMessage message);

    /// <summary>
    /// The session has delivered what it has for now (a read burst is parsed, or it is about to pause): an owner that
    /// delivers without waking its consumers wakes them here, once. A default no-op for owners that wake per message.
    /// </summary>
    void AnnounceDelivered() { }

    /// <summary>
    /// A protocol violation arrived behind delivered messages: true if the owner queued a marker after them and will
    /// call <see cref="WebSocketSession.RequestDeferredViolation"/> when its consumer reaches it; false to fail at once.
    /// </summary>
    bool TryDeferViolation(WebSocketSession session);

    /// <summary>Takes the next queued outbound message, if any. Ownership of its buffer passes to the session.</summary>
    bool TryTakeOutbound(out OutboundMessage message);

    /// <summary>The peer stayed silent past the keep-alive ping's timeout; the session fails right after this call.</summary>
    /// <remarks>A default no-op: only the client facade reports it (in its log); the embedded server ignores it.</remarks>
    void OnKeepAliveTimedOut(WebSocketSession session, TimeSpan silence) { }

    /// <summary>The session ended; called exactly once, after the socket is closed and every buffer returned.</summary>
    void OnClosed(WebSocketSession session, in SessionEnd end);
}
