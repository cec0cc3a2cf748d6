using System.Net;
using System.Net.Sockets;
using System.Text;
using FastSidecar.Buffers;
using FastSidecar.Testing;
using FastSidecar.Tests.Hostile;
using FastSidecar.Tests.Tls;

namespace FastSidecar.Tests.Proxy;

/// <summary>
/// ws:// and wss:// through a real HTTP proxy (Debian's tinyproxy, started per test with a generated configuration),
/// with and without Basic credentials; refusals are typed handshake errors naming the proxy and its status.
/// </summary>
[Collection(HostileServerGroup.Name)]
public sealed class ProxyConnectTests
{
    private static readonly TimeSpan ReceiveTimeout = TimeSpan.FromSeconds(20);

    [Fact]
    public void Ws_through_tinyproxy_echoes_byte_exact()
    {
        using var proxy = new TinyproxyProcess();
        using var server = new LoopbackEchoServer(WaitStrategy.Blocking);
        var pool = new SidecarBufferPool();
        var ws = SidecarWebSocket.Connect(server.Uri, new SidecarOptions { BufferPool = pool, Proxy = new TestProxy(proxy.Uri) });
        EchoSome(ws);
        Assert.Null(ws.Exit().Fault);
        Assert.Equal(0, pool.Outstanding);
        Assert.Contains("CONNECT", proxy.Log(), StringComparison.Ordinal);
    }

    [Fact]
    public void Wss_through_tinyproxy_with_Basic_credentials_echoes_and_validates_the_target_certificate()
    {
        using var proxy = new TinyproxyProcess("sidecar", "s3cret-pass");
        using var server = new TlsTestServer(TestCertificates.Localhost);
        var pool = new SidecarBufferPool();
        var options = new SidecarOptions
        {
            BufferPool = pool,
            Proxy = new TestProxy(proxy.Uri) { Credentials = new NetworkCredential("sidecar", "s3cret-pass") },
            Tls = TestCertificates.Trusting(TestCertificates.Localhost),
        };
        var ws = SidecarWebSocket.Connect(server.Uri("127.0.0.1"), options);
        EchoSome(ws);
        Assert.Null(ws.Exit().Fault);
        // TLS ran end to end with the target through the tunnel (the proxy only relayed bytes).
        Assert.Null(server.Finished.Take(ReceiveTimeout).Error);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void A_proxy_that_requires_credentials_refuses_without_them_naming_the_proxy_and_its_status()
    {
        using var proxy = new TinyproxyProcess("sidecar", "s3cret-pass");
        using var server = new LoopbackEchoServer(WaitStrategy.Blocking);
        WebSocketHandshakeException e = Refused(server.Uri, new TestProxy(proxy.Uri));
        Assert.Equal(407, e.StatusCode);
        Assert.Contains(proxy.Uri.Authority, e.Message, StringComparison.Ordinal);
        Assert.Contains("407", e.Message, StringComparison.Ordinal);

        // tinyproxy 1.11 answers credentials that do not match with 401 (not 407); the status is reported as sent.
        WebSocketHandshakeException wrong = Refused(server.Uri, new TestProxy(proxy.Uri) { Credentials = new NetworkCredential("sidecar", "wrong") });
        Assert.Equal(401, wrong.StatusCode);
    }

    [Theory]
    [InlineData(407, "Proxy Authentication Required")]
    [InlineData(403, "Forbidden")]
    [InlineData(502, "Bad Gateway")]
    public void A_refusing_proxy_is_a_typed_handshake_error_with_its_status(int status, string reason)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var answer = new Thread(() =>
        {
            using Socket client = listener.AcceptSocket();
            var buffer = new byte[4096];
            int read = 0;
            while (!Encoding.ASCII.GetString(buffer, 0, read).Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                read += client.Receive(buffer.AsSpan(read));
            }

            client.Send(Encoding.ASCII.GetBytes($"HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\n\r\n"));
            try
            {
                client.Receive(buffer); // until the client closes (abortively: a reset)
            }
            catch (SocketException)
            {
            }
        }) { IsBackground = true };
        answer.Start();
        var proxyUri = new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/");
        WebSocketHandshakeException e = Refused(new Uri("ws://127.0.0.1:9/"), new TestProxy(proxyUri));
        Assert.Equal(status, e.StatusCode);
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
        Assert.Contains(proxyUri.Authority, e.Message, StringComparison.Ordinal);
        Assert.True(answer.Join(ReceiveTimeout));
    }

    [Fact]
    public void A_bypassed_host_connects_directly()
    {
        using var server = new LoopbackEchoServer(WaitStrategy.Blocking);
        var pool = new SidecarBufferPool();
        // The proxy's port is closed: the connection can only succeed by going around it.
        var proxy = new TestProxy(new Uri("http://127.0.0.1:9/")) { Bypassed = true };
        var ws = SidecarWebSocket.Connect(server.Uri, new SidecarOptions { BufferPool = pool, Proxy = proxy });
        EchoSome(ws);
        Assert.Null(ws.Exit().Fault);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void A_proxy_that_never_answers_fails_at_the_connect_deadline_naming_the_proxy()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var proxyUri = new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/");
        var pool = new SidecarBufferPool();
        int loopsBefore = SidecarLoop.LiveLoops;
        var clock = HostileServerSupport.Clock();
        var e = Assert.Throws<WebSocketHandshakeException>(() => SidecarWebSocket.Connect(new Uri("ws://127.0.0.1:9/"),
            new SidecarOptions { BufferPool = pool, Proxy = new TestProxy(proxyUri), ConnectTimeout = TimeSpan.FromMilliseconds(500) }));
        HostileServerSupport.AssertWithin(clock.Elapsed, TimeSpan.FromMilliseconds(500), "the silent proxy");
        Assert.Contains(proxyUri.Authority, e.Message, StringComparison.Ordinal);
        HostileServerSupport.AssertNoLeaks(pool, loopsBefore);
    }

    private static WebSocketHandshakeException Refused(Uri target, IWebProxy proxy)
    {
        var pool = new SidecarBufferPool();
        int loopsBefore = SidecarLoop.LiveLoops;
        var e = Assert.Throws<WebSocketHandshakeException>(() => SidecarWebSocket.Connect(target, new SidecarOptions { BufferPool = pool, Proxy = proxy }));
        HostileServerSupport.AssertNoLeaks(pool, loopsBefore);
        return e;
    }

    private static void EchoSome(SidecarWebSocket ws)
    {
        var random = new Random(3128);
        foreach (int size in new[] { 0, 5, 126, 70_000 })
        {
            byte[] payload = new byte[size];
            random.NextBytes(payload);
            ws.Send(payload, MessageType.Binary);
            using ReceivedMessage echo = ws.Receive(ReceiveTimeout);
            Assert.True(echo.Span.SequenceEqual(payload));
        }
    }

    /// <summary>One proxy for every URI, unless told that every URI bypasses it.</summary>
    private sealed class TestProxy(Uri proxy) : IWebProxy
    {
        public ICredentials? Credentials { get; set; }

        public bool Bypassed { get; init; }

        public Uri GetProxy(Uri destination) => proxy;

        public bool IsBypassed(Uri host) => Bypassed;
    }
}
