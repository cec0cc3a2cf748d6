namespace FastSidecar.Testing;

/// <summary>
/// Misbehaviour the embedded echo server can be asked for through the request path, so stress runs and tests
/// exercise every fault path of the client against a real server.
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
