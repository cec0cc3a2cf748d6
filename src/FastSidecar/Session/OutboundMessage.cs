namespace FastSidecar.Session;

/// <summary>
/// A message on its way from an application thread to the loop: a pooled copy of the payload. The send queue owns
/// the buffer while the message waits; the loop returns it to the pool once the frame is written (or counts the
/// message as not sent and returns it at shutdown).
/// </summary>
internal readonly struct OutboundMessage(byte[] buffer, int length, MessageType type)
{
    public byte[] Buffer { get; } = buffer;

    public int Length { get; } = length;

    public MessageType Type { get; } = type;

    public ReadOnlySpan<byte> Payload => Buffer.AsSpan(0, Length);
}
