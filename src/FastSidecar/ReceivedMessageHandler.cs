namespace FastSidecar;

/// <summary>
/// Handles one message of a batch taken by
/// <see cref="SidecarWebSocket.ReceiveBatch{TState}(TState, ReceivedMessageHandler{TState}, int, TimeSpan)"/>.
/// </summary>
/// <typeparam name="TState">Whatever the handler needs, passed through so a static lambda captures nothing.</typeparam>
/// <param name="state">The state given to <c>ReceiveBatch</c>.</param>
/// <param name="payload">The message's payload; valid only until the handler returns (its buffer is released right after).</param>
/// <param name="type">Whether the message is text (validated UTF-8) or binary.</param>
public delegate void ReceivedMessageHandler<in TState>(TState state, ReadOnlySpan<byte> payload, MessageType type);
