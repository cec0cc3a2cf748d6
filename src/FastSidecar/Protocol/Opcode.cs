namespace FastSidecar.Protocol;

/// <summary>Frame opcodes of RFC 6455 §5.2. Values 3–7 and 0xB–0xF are reserved and rejected by the reader.</summary>
internal enum Opcode : byte
{
    Continuation = 0x0,
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA,
}
