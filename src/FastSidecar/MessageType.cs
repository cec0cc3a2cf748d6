namespace FastSidecar;

/// <summary>The type of a WebSocket data message (RFC 6455 §5.6).</summary>
public enum MessageType : byte
{
    /// <summary>UTF-8 text (opcode 0x1).</summary>
    Text = 1,

    /// <summary>Arbitrary binary data (opcode 0x2).</summary>
    Binary = 2,
}
