using System.Text;
using FastSidecar.Session;

namespace FastSidecar;

/// <summary>
/// What <see cref="ReconnectPolicy.OnConnected"/> sends with: its messages are written ahead of everything queued by
/// <c>Send</c>, on the connection that has just opened. Valid only during the call; loop thread only.
/// </summary>
/// <remarks>
/// These messages are not counted with the ones handed to <c>Send</c>: they belong to one connection and are written
/// again by the hook on the next, so there is nothing to account for across connections.
/// </remarks>
public sealed class ReconnectSender
{
    private WebSocketSession? _session;

    internal ReconnectSender(WebSocketSession session, ReconnectNotice? notice)
    {
        _session = session;
        Notice = notice;
    }

    /// <summary>The loss this connection replaces; null on the first connection.</summary>
    public ReconnectNotice? Notice { get; }

    /// <summary>How many messages the hook has written so far.</summary>
    public int MessagesSent { get; private set; }

    /// <summary>Writes a message ahead of the queued backlog.</summary>
    /// <exception cref="InvalidOperationException">Called after the hook returned.</exception>
    public void Send(ReadOnlySpan<byte> payload, MessageType type = MessageType.Binary)
    {
        if (type is not (MessageType.Text or MessageType.Binary))
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown message type.");
        }

        WebSocketSession session = _session ?? throw new InvalidOperationException("The sender is valid only during the OnConnected call.");
        session.WriteAheadOfQueue(payload, type);
        MessagesSent++;
    }

    /// <summary>Writes a text message (UTF-8) ahead of the queued backlog.</summary>
    /// <exception cref="InvalidOperationException">Called after the hook returned.</exception>
    public void Send(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Send(Encoding.UTF8.GetBytes(text), MessageType.Text);
    }

    internal void Invalidate() => _session = null;
}
