namespace FastSidecar;

/// <summary>What a receive into the caller's buffer took: the message's length and type.</summary>
/// <param name="Length">The payload length: the first <paramref name="Length"/> bytes of the destination hold it.</param>
/// <param name="Type">Whether the message is text or binary.</param>
/// <param name="Reconnect">Non-null when this is not a message but the place of a lost connection (see <see cref="ReceivedMessage.Reconnect"/>).</param>
public readonly record struct ReceiveResult(int Length, MessageType Type, ReconnectNotice? Reconnect = null);
