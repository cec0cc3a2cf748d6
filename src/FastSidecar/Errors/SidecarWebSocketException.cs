namespace FastSidecar;

/// <summary>
/// The base of every error FastSidecar reports about a connection. A failure on the loop thread is recorded
/// once (first cause wins) and thrown from the application's next call as one of the subclasses.
/// </summary>
public class SidecarWebSocketException : Exception
{
    /// <summary>Creates an exception with a message.</summary>
    public SidecarWebSocketException(string message) : base(message) { }

    /// <summary>Creates an exception with a message and the error that caused it.</summary>
    public SidecarWebSocketException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates an exception with a message and the close status that goes with it.</summary>
    public SidecarWebSocketException(string message, WebSocketCloseCode? closeCode, string? closeReason = null, Exception? innerException = null)
        : base(message, innerException)
    {
        CloseCode = closeCode;
        CloseReason = closeReason;
    }

    /// <summary>The close status of the connection when this error ended it, if one is known.</summary>
    public WebSocketCloseCode? CloseCode { get; }

    /// <summary>The close reason that went with <see cref="CloseCode"/>, if any.</summary>
    public string? CloseReason { get; }
}

/// <summary>The peer broke RFC 6455. <see cref="SidecarWebSocketException.CloseCode"/> is the code we closed with (1002, 1007, 1009, ...).</summary>
public sealed class WebSocketProtocolException : SidecarWebSocketException
{
    /// <summary>Creates a protocol violation that closes the connection with <paramref name="closeCode"/>.</summary>
    public WebSocketProtocolException(WebSocketCloseCode closeCode, string message) : base(message, closeCode) { }

    /// <summary>The close code this violation calls for (the inherited <see cref="SidecarWebSocketException.CloseCode"/>, never null here).</summary>
    internal WebSocketCloseCode ViolationCode => CloseCode!.Value;
}

/// <summary>The opening handshake failed: the server answered with something other than a valid upgrade, or broke a limit.</summary>
public sealed class WebSocketHandshakeException : SidecarWebSocketException
{
    /// <summary>Creates a handshake failure.</summary>
    public WebSocketHandshakeException(string message, int? statusCode = null, Exception? innerException = null) : base(message, innerException)
        => StatusCode = statusCode;

    /// <summary>The HTTP status code of the server's answer, when it sent one.</summary>
    public int? StatusCode { get; }
}

/// <summary>The connection is closed: the peer closed it, or the application called Exit.</summary>
public sealed class WebSocketClosedException : SidecarWebSocketException
{
    /// <summary>Creates a closed-connection error with the close status that ended the connection.</summary>
    public WebSocketClosedException(string message, WebSocketCloseCode? closeCode = null, string? closeReason = null, Exception? innerException = null)
        : base(message, closeCode, closeReason, innerException) { }
}

/// <summary>The transport failed: connect refused or timed out, the socket broke, or the peer went silent past a deadline.</summary>
public sealed class WebSocketConnectionException : SidecarWebSocketException
{
    /// <summary>Creates a transport failure, usually around a <see cref="System.Net.Sockets.SocketException"/>.</summary>
    public WebSocketConnectionException(string message, Exception? innerException = null)
        : base(message, WebSocketCloseCode.Abnormal, null, innerException) { }
}
