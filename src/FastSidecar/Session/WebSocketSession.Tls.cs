using System.Net.Security;
using System.Net.Sockets;
using FastSidecar.Transport;

namespace FastSidecar.Session;

internal sealed partial class WebSocketSession
{
    // Set before StartClient for a wss:// connection: the per-connection TLS options and the host they validate.
    private TlsCertificateCheck? _tls;
    private string? _tlsHost;

    /// <summary>Client role, before <see cref="StartClient"/>: runs the connection over TLS, validating <paramref name="host"/>.</summary>
    public void UseTls(SslClientAuthenticationOptions? options, string host)
    {
        _tls = new TlsCertificateCheck(options, host);
        _tlsHost = host;
    }

    // Set before StartClient when the connection goes through an HTTP proxy (the socket connects to the proxy).
    private ProxyRoute? _proxy;

    /// <summary>Client role, before <see cref="StartClient"/>: tunnels through the proxy of <paramref name="route"/> with CONNECT.</summary>
    public void UseProxy(ProxyRoute route) => _proxy = route;

    private ITransport CreateClientTransport(Socket socket)
    {
        ITransport transport = _tls is null
            ? new SocketTransport(socket, _pool.AsMemoryPool())
            : new TlsTransport(socket, _pool.AsMemoryPool(), _tls, _tlsHost!);
        return _proxy is null ? transport : new HttpConnectTunnel(transport, _proxy);
    }
}
