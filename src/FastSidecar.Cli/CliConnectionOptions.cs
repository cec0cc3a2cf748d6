using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace FastSidecar.Cli;

/// <summary>The TLS and proxy settings the commands share: <c>--ca FILE</c>, <c>--insecure</c>, <c>--proxy URL</c>.</summary>
internal static class CliConnectionOptions
{
    /// <summary>
    /// TLS options for <c>--ca</c> (trust that PEM or DER certificate and nothing else; the host name is still checked)
    /// or <c>--insecure</c> (accept any certificate, with a warning); null for the system defaults.
    /// </summary>
    [SuppressMessage("Security", "CA5359", Justification = "--insecure asks for exactly this, and the command prints a warning.")]
    public static SslClientAuthenticationOptions? Tls(string? caFile, bool insecure, TextWriter error)
    {
        if (insecure)
        {
            error.WriteLine("WARNING: --insecure accepts any server certificate: the connection is encrypted but the server is not authenticated.");
            return new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = AcceptAny };
        }

        if (caFile is null)
        {
            return null;
        }

        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        policy.CustomTrustStore.Add(X509CertificateLoader.LoadCertificateFromFile(caFile));
        return new SslClientAuthenticationOptions { CertificateChainPolicy = policy };
    }

    /// <summary>The proxy of <c>--proxy http://[user:password@]host:port</c>, used for every destination; null without one.</summary>
    public static IWebProxy? Proxy(string? url)
    {
        if (url is null)
        {
            return null;
        }

        var uri = new Uri(url);
        ICredentials? credentials = null;
        if (uri.UserInfo.Length > 0)
        {
            string[] parts = uri.UserInfo.Split(':', 2);
            credentials = new NetworkCredential(Uri.UnescapeDataString(parts[0]), parts.Length > 1 ? Uri.UnescapeDataString(parts[1]) : string.Empty);
        }

        return new FixedProxy(new Uri(uri.GetLeftPart(UriPartial.Authority)), credentials);
    }

    [SuppressMessage("Security", "CA5359", Justification = "--insecure asks for exactly this, and the command prints a warning.")]
    private static bool AcceptAny(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors) => true;

    /// <summary>
    /// One proxy for every destination, loopback included (unlike <see cref="WebProxy"/>, which always bypasses
    /// loopback: a command-line user who names a proxy means it).
    /// </summary>
    private sealed class FixedProxy(Uri proxy, ICredentials? credentials) : IWebProxy
    {
        public ICredentials? Credentials { get; set; } = credentials;

        public Uri GetProxy(Uri destination) => proxy;

        public bool IsBypassed(Uri host) => false;
    }
}
