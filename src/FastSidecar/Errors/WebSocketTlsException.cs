using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace FastSidecar;

/// <summary>The TLS handshake of a <c>wss://</c> connection failed; <see cref="Failure"/> says how.</summary>
public sealed class WebSocketTlsException : SidecarWebSocketException
{
    /// <summary>Creates a TLS failure.</summary>
    public WebSocketTlsException(string message, TlsFailure failure, SslPolicyErrors policyErrors = SslPolicyErrors.None,
        X509ChainStatusFlags chainStatus = X509ChainStatusFlags.NoError, Exception? innerException = null)
        : base(message, WebSocketCloseCode.Abnormal, null, innerException)
    {
        Failure = failure;
        PolicyErrors = policyErrors;
        ChainStatus = chainStatus;
    }

    /// <summary>What went wrong.</summary>
    public TlsFailure Failure { get; }

    /// <summary>What the runtime's validation of the server's certificate found (<see cref="SslPolicyErrors.None"/> if it never got that far).</summary>
    public SslPolicyErrors PolicyErrors { get; }

    /// <summary>The problems found in the server's certificate chain, all of them.</summary>
    public X509ChainStatusFlags ChainStatus { get; }
}

/// <summary>The kinds of TLS failure, most specific first: a certificate that is both expired and untrusted is <see cref="CertificateExpired"/>.</summary>
public enum TlsFailure
{
    /// <summary>The handshake failed for another reason (no common protocol or cipher, a malformed message, an alert from the server).</summary>
    HandshakeFailed,

    /// <summary>The server's certificate does not name the host connected to (RFC 6125).</summary>
    HostNameMismatch,

    /// <summary>The server's certificate (or one in its chain) is expired or not yet valid.</summary>
    CertificateExpired,

    /// <summary>The server's certificate does not chain to a trusted root.</summary>
    CertificateUntrusted,

    /// <summary>The certificate failed validation for another reason (revoked, wrong usage, no certificate sent), or the application's validation callback rejected it.</summary>
    CertificateRejected,

    /// <summary>The server stopped answering mid-handshake and the connect deadline passed.</summary>
    HandshakeTimedOut,

    /// <summary>The server closed or reset the TCP connection mid-handshake.</summary>
    ConnectionReset,
}
