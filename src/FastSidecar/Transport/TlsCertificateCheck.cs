using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace FastSidecar.Transport;

/// <summary>
/// One connection's copy of the application's <see cref="SslClientAuthenticationOptions"/>, with the certificate
/// validation wrapped so that a failed handshake can say why it failed.
/// </summary>
/// <remarks>
/// Why a wrapper: SslStream reports every rejected certificate as the same <c>AuthenticationException</c>; the
/// policy errors and chain status it validated with are visible only inside the validation callback. The wrapper
/// records them, then decides exactly as SslStream would: the application's callback if it gave one, else
/// "no errors". The options are copied because the target host (SNI and the name checked) is per connection and the
/// application's object may be shared.
/// </remarks>
internal sealed class TlsCertificateCheck
{
    private readonly RemoteCertificateValidationCallback? _inner;

    public TlsCertificateCheck(SslClientAuthenticationOptions? options, string host)
    {
        options ??= new SslClientAuthenticationOptions();
        _inner = options.RemoteCertificateValidationCallback;
        Options = new SslClientAuthenticationOptions
        {
            AllowRenegotiation = options.AllowRenegotiation,
            AllowTlsResume = options.AllowTlsResume,
            ApplicationProtocols = options.ApplicationProtocols,
            CertificateChainPolicy = options.CertificateChainPolicy,
            CertificateRevocationCheckMode = options.CertificateRevocationCheckMode,
            CipherSuitesPolicy = options.CipherSuitesPolicy,
            ClientCertificateContext = options.ClientCertificateContext,
            ClientCertificates = options.ClientCertificates,
            EnabledSslProtocols = options.EnabledSslProtocols,
            EncryptionPolicy = options.EncryptionPolicy,
            LocalCertificateSelectionCallback = options.LocalCertificateSelectionCallback,
            // The URI's host unless the application named another (SNI and the name the certificate must carry).
            TargetHost = string.IsNullOrEmpty(options.TargetHost) ? host : options.TargetHost,
            RemoteCertificateValidationCallback = Validate,
        };
    }

    /// <summary>The options to authenticate with.</summary>
    public SslClientAuthenticationOptions Options { get; }

    /// <summary>True once validation ran and the certificate was rejected.</summary>
    public bool Rejected { get; private set; }

    /// <summary>What the runtime's validation found, when it ran.</summary>
    public SslPolicyErrors PolicyErrors { get; private set; }

    /// <summary>Every chain problem, combined.</summary>
    public X509ChainStatusFlags ChainStatus { get; private set; }

    /// <summary>The most specific kind of failure for what validation recorded.</summary>
    public TlsFailure Classify()
    {
        if ((ChainStatus & (X509ChainStatusFlags.NotTimeValid | X509ChainStatusFlags.NotTimeNested)) != 0)
        {
            return TlsFailure.CertificateExpired;
        }

        if ((PolicyErrors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            return TlsFailure.HostNameMismatch;
        }

        if ((ChainStatus & (X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain)) != 0)
        {
            return TlsFailure.CertificateUntrusted;
        }

        return TlsFailure.CertificateRejected;
    }

    private bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        X509ChainStatusFlags status = X509ChainStatusFlags.NoError;
        if (chain is not null)
        {
            foreach (X509ChainStatus element in chain.ChainStatus)
            {
                status |= element.Status;
            }
        }

        bool accepted = _inner is null ? errors == SslPolicyErrors.None : _inner(sender, certificate, chain, errors);
        PolicyErrors = errors;
        ChainStatus = status;
        Rejected = !accepted;
        return accepted;
    }
}
