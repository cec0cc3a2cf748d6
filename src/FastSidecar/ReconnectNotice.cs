namespace FastSidecar;

/// <summary>
/// The place of a lost connection in the receive stream, when <see cref="SidecarOptions.Reconnect"/> is set: every
/// message received before it came on the lost connection, every one after it on a later one. It arrives as a
/// <see cref="ReceivedMessage"/> whose <see cref="ReceivedMessage.Reconnect"/> is this (and, from a receive into a
/// caller's buffer, as <see cref="ReceiveResult.Reconnect"/>), as soon as the loss is known, before the new
/// connection exists, so the application can mark its state stale without catching an exception.
/// </summary>
/// <remarks>
/// Message accounting: every message handed to <c>Send</c> that the lost connection took was either <i>sent</i>
/// (written to the socket before a frame from the peer was received after it: the peer was alive after it) or
/// <i>in doubt</i> (written after the last frame the peer was heard from, or still in the output buffer when the
/// connection died: it may or may not have reached the peer). Messages still queued were not taken by the lost
/// connection: they go out, in order, on the next connection. The sums over all connections appear in
/// <see cref="ShutdownReport"/>: sent + in doubt + not sent is every message <c>Send</c> accepted.
/// </remarks>
public sealed class ReconnectNotice
{
    internal ReconnectNotice(int reconnection, SidecarWebSocketException cause, long messagesSent, long messagesInDoubt)
    {
        Reconnection = reconnection;
        Cause = cause;
        MessagesSent = messagesSent;
        MessagesInDoubt = messagesInDoubt;
    }

    /// <summary>Which loss this is: 1 for the first connection's, 2 for the next one's, and so on.</summary>
    public int Reconnection { get; }

    /// <summary>Why the connection was lost (the close by the peer, the socket error, the keep-alive timeout).</summary>
    public SidecarWebSocketException Cause { get; }

    /// <summary>The close code the connection ended with, if a close frame was received (the cause's).</summary>
    public WebSocketCloseCode? CloseCode => Cause.CloseCode;

    /// <summary>Messages from <c>Send</c> written to the lost connection before the peer was last heard from.</summary>
    public long MessagesSent { get; }

    /// <summary>
    /// Messages from <c>Send</c> written to the lost connection after the peer was last heard from (a frame received
    /// after they were written), or buffered for it when it died: they may or may not have reached the peer. Resend
    /// them only if the peer tolerates duplicates.
    /// </summary>
    public long MessagesInDoubt { get; }

    /// <inheritdoc />
    public override string ToString() =>
        $"connection lost (#{Reconnection}): {Cause.Message} ({MessagesSent} sent, {MessagesInDoubt} in doubt)";
}
