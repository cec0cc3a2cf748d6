namespace FastSidecar.Protocol;

/// <summary>What <see cref="FrameReader.Read"/> stopped at.</summary>
internal enum FrameReadStatus
{
    /// <summary>Every usable byte was consumed; a partial header (under 14 bytes) may be left in the buffer.</summary>
    NeedMoreData,

    /// <summary>A complete data message; its buffer now belongs to the caller.</summary>
    Message,

    /// <summary>A ping; the caller owes a pong with <see cref="FrameReader.ControlPayload"/>.</summary>
    Ping,

    /// <summary>A pong; <see cref="FrameReader.ControlPayload"/> holds its payload.</summary>
    Pong,

    /// <summary>A close frame; <see cref="FrameReader.CloseCode"/> and <see cref="FrameReader.CloseReason"/> describe it.</summary>
    Close,
}
