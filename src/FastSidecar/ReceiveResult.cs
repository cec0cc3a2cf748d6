namespace FastSidecar;

/// <summary>What a receive into the caller's buffer took: the message's length and type.</summary>
/// <param name="Length">The payload length: the first <paramref name="Length"/> bytes of the destination hold it.</param>
/// <param name="Type">Whether the message is text or binary.</param>
public readonly record struct ReceiveResult(int Length, MessageType Type);
