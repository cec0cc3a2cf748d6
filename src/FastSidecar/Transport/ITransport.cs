using System.IO.Pipelines;
using System.Net.Sockets;

namespace FastSidecar.Transport;

/// <summary>
/// The byte stream under a WebSocket session, driven by the loop's readiness callbacks. Plain TCP
/// (<see cref="SocketTransport"/>) or TLS (<see cref="TlsTransport"/>: <c>SslStream</c> over an in-loop stream on the
/// same socket), without the session knowing the difference.
/// </summary>
/// <remarks>Loop thread only. The transport owns its socket and its two pipes and releases both in <see cref="IDisposable.Dispose"/>.</remarks>
internal interface ITransport : IDisposable
{
    /// <summary>The socket the loop watches for readiness.</summary>
    Socket Socket { get; }

    /// <summary>Bytes from the peer, for the protocol reader.</summary>
    PipeReader Input { get; }

    /// <summary>Bytes for the peer, written by the protocol writer and pushed by <see cref="SendBuffered"/>.</summary>
    PipeWriter Output { get; }

    /// <summary>True when bytes written to <see cref="Output"/> are not yet on the socket.</summary>
    bool HasPendingOutput { get; }

    /// <summary>The socket error of the last <see cref="TransportStatus.Failed"/> result.</summary>
    SocketError LastError { get; }

    /// <summary>The transport's own typed error behind the last <see cref="TransportStatus.Failed"/> (a TLS failure), or null when the socket error says it all.</summary>
    SidecarWebSocketException? Fault { get; }

    /// <summary>The error for a connect deadline that passed inside the transport's own handshake (TLS), or null.</summary>
    SidecarWebSocketException? DescribeStall();

    /// <summary>Moves what the socket has into <see cref="Input"/>, up to a per-call budget.</summary>
    TransportStatus ReceiveAvailable();

    /// <summary>Pushes <see cref="Output"/> to the socket until it is empty or the socket would block.</summary>
    TransportStatus SendBuffered();

    /// <summary>Half-closes the sending direction (TCP FIN) once everything buffered is sent.</summary>
    void ShutdownSend();

    /// <summary>Closes the socket; <paramref name="abortive"/> sends a reset instead of a FIN (for a silent or broken peer).</summary>
    void Close(bool abortive);
}

/// <summary>The result of one transport operation.</summary>
internal enum TransportStatus
{
    /// <summary>All the work there was is done (everything sent; or what was available was received).</summary>
    Done,

    /// <summary>The socket would block: wait for readiness. For a receive, some bytes may have arrived first.</summary>
    WouldBlock,

    /// <summary>The peer closed its sending direction (TCP FIN); bytes received before it are in the input.</summary>
    EndOfStream,

    /// <summary>The socket failed; see <see cref="ITransport.LastError"/>.</summary>
    Failed,
}
