using System.Net;
using System.Text;

namespace FastSidecar.Transport;

/// <summary>
/// Where a connection goes when an <see cref="IWebProxy"/> applies: the proxy to connect to, the authority to ask it
/// for with <c>CONNECT</c>, and the <c>Proxy-Authorization</c> to send, all decided once, before connecting.
/// </summary>
internal sealed class ProxyRoute
{
    private ProxyRoute(Uri proxy, string authority, string? authorization)
    {
        Proxy = proxy;
        Authority = authority;
        Authorization = authorization;
    }

    /// <summary>The proxy (http://host:port).</summary>
    public Uri Proxy { get; }

    /// <summary>The target as <c>host:port</c>, IPv6 in brackets (the CONNECT request target, RFC 9110 §9.3.6).</summary>
    public string Authority { get; }

    /// <summary>The <c>Proxy-Authorization</c> value (Basic), or null without credentials.</summary>
    public string? Authorization { get; }

    /// <summary>
    /// The route for <paramref name="target"/> through <paramref name="proxy"/>, or null for a direct connection: no
    /// proxy, a bypassed host, or a proxy that names no proxy (or the target itself) for this URI.
    /// </summary>
    /// <remarks>
    /// The proxy is asked about the http/https form of the URI (ws→http, wss→https): that is what proxy settings
    /// (and <c>HttpClient.DefaultProxy</c>'s environment variables) are written for.
    /// </remarks>
    public static ProxyRoute? For(Uri target, IWebProxy? proxy)
    {
        if (proxy is null)
        {
            return null;
        }

        var asHttp = new UriBuilder(target) { Scheme = target.Scheme == "wss" ? "https" : "http", Port = target.Port }.Uri;
        if (proxy.IsBypassed(asHttp))
        {
            return null;
        }

        Uri? proxyUri = proxy.GetProxy(asHttp);
        if (proxyUri is null || proxyUri == asHttp)
        {
            return null;
        }

        if (proxyUri.Scheme != "http")
        {
            throw new ArgumentException($"Only http:// proxies are supported (CONNECT over TCP); got {proxyUri}.", nameof(proxy));
        }

        string host = target.HostNameType == UriHostNameType.IPv6 ? $"[{target.IdnHost}]" : target.IdnHost;
        string authority = $"{host}:{target.Port}";
        string? authorization = null;
        if (proxy.Credentials?.GetCredential(proxyUri, "Basic") is { } credential && (credential.UserName.Length > 0 || credential.Password.Length > 0))
        {
            string user = credential.Domain.Length > 0 ? $"{credential.Domain}\\{credential.UserName}" : credential.UserName;
            authorization = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{credential.Password}"));
        }

        return new ProxyRoute(proxyUri, authority, authorization);
    }

    /// <summary>The CONNECT request, ASCII (credentials Base64), sent once before anything else.</summary>
    public byte[] BuildRequest()
    {
        var request = new StringBuilder();
        request.Append("CONNECT ").Append(Authority).Append(" HTTP/1.1\r\nHost: ").Append(Authority).Append("\r\n");
        if (Authorization is not null)
        {
            request.Append("Proxy-Authorization: ").Append(Authorization).Append("\r\n");
        }

        request.Append("\r\n");
        return Encoding.ASCII.GetBytes(request.ToString());
    }
}
