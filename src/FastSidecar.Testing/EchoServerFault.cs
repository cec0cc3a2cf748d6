namespace FastSidecar.Testing;

/// <summary>
/// Misbehaviour the loopback echo server can be asked for, so stress runs and tests exercise every fault path of the
/// client against a real server. <see cref="LoopbackEchoServer.UriFor"/> gives each one's address: the session-driven
/// faults are paths on the echo port, the raw ones (<see cref="Silent"/>, <see cref="MidFrame"/>) paths on the port of
/// the <see cref="RawFaultAcceptor"/>.
/// </summary>
internal enum EchoServerFault
{
    /// <summary>Path <c>/</c> (or any other): echo every message, answer the close handshake.</summary>
    None,

    /// <summary>Path <c>/reset</c>: reset the TCP connection (RST) when the first message arrives.</summary>
    Reset,

    /// <summary>Path <c>/silent</c>: echo messages but never answer a close frame nor close TCP.</summary>
    Silent,

    /// <summary>Path <c>/midframe</c>: answer the first message with half a frame, then close TCP.</summary>
    MidFrame,

    /// <summary>Path <c>/close</c>: echo the first message, then start the closing handshake with 1001.</summary>
    CloseAfterEcho,
}
