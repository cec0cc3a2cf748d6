using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace FastSidecar.Tests.Tls;

/// <summary>Self-signed server certificates made in the test (never a file in the repository), and client options that trust exactly one of them.</summary>
public static class TestCertificates
{
    private static readonly Lazy<X509Certificate2> s_localhost = new(() => Create("localhost", DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30)));

    /// <summary>Valid now, for <c>localhost</c> and <c>127.0.0.1</c>.</summary>
    public static X509Certificate2 Localhost => s_localhost.Value;

    /// <summary>A self-signed ECDSA P-256 server certificate for <paramref name="host"/> (and 127.0.0.1 when it is localhost), with its private key.</summary>
    public static X509Certificate2 Create(string host, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={host}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(host);
        if (host == "localhost")
        {
            names.AddIpAddress(IPAddress.Loopback);
        }

        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using X509Certificate2 created = request.CreateSelfSigned(notBefore, notAfter);
        // A PKCS#12 round trip gives a key every platform's TLS stack accepts for a server.
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>Client TLS options that trust <paramref name="root"/> as the only root; the host name is still checked.</summary>
    public static SslClientAuthenticationOptions Trusting(X509Certificate2 root, string? targetHost = null)
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        policy.CustomTrustStore.Add(root);
        return new SslClientAuthenticationOptions { CertificateChainPolicy = policy, TargetHost = targetHost };
    }

    /// <summary>The certificate and its private key as PEM files in a fresh temporary folder, for peers in other processes.</summary>
    public static (string CertFile, string KeyFile) WritePem(X509Certificate2 certificate)
    {
        string folder = Directory.CreateTempSubdirectory("fastsidecar-tls-").FullName;
        string certFile = Path.Combine(folder, "cert.pem");
        string keyFile = Path.Combine(folder, "key.pem");
        File.WriteAllText(certFile, certificate.ExportCertificatePem());
        using ECDsa key = certificate.GetECDsaPrivateKey()!;
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return (certFile, keyFile);
    }
}
