using System.Diagnostics;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using FastSidecar.Buffers;
using FastSidecar.Tests.Hostile;

namespace FastSidecar.Tests.Tls;

/// <summary>
/// wss:// on the loop: byte-exact echoes, SNI, the close_notify on Exit, and every way a TLS handshake fails, each a
/// typed <see cref="WebSocketTlsException"/> within its deadline with nothing left behind (pool, loop thread).
/// </summary>
[Collection(HostileServerGroup.Name)]
public sealed class TlsConnectTests
{
    private static readonly TimeSpan ReceiveTimeout = TimeSpan.FromSeconds(20);

    [Fact]
    public void Wss_echoes_byte_exact_sends_SNI_and_Exit_sends_close_notify_before_the_TCP_close()
    {
        // TLS 1.2: its alert records travel with their own content type, so the wire shows the close_notify.
        using var server = new TlsTestServer(TestCertificates.Localhost, protocols: SslProtocols.Tls12);
        var pool = new SidecarBufferPool();
        int loopsBefore = SidecarLoop.LiveLoops;
        var ws = SidecarWebSocket.Connect(server.Uri(), Options(pool, TestCertificates.Trusting(TestCertificates.Localhost)));

        var random = new Random(443);
        foreach (int size in new[] { 0, 1, 125, 126, 65535, 65536, 300_000 })
        {
            byte[] payload = new byte[size];
            random.NextBytes(payload);
            ws.Send(payload, MessageType.Binary);
            using ReceivedMessage echo = ws.Receive(ReceiveTimeout);
            Assert.Equal(MessageType.Binary, echo.Type);
            Assert.True(echo.Span.SequenceEqual(payload), $"{size} bytes differ");
        }

        ws.Send("text over tls"u8, MessageType.Text);
        using (ReceivedMessage text = ws.Receive(ReceiveTimeout))
        {
            Assert.Equal("text over tls", text.GetText());
        }

        ShutdownReport report = ws.Exit();
        Assert.True(report.Steps.All(s => s.Outcome == ShutdownOutcome.Completed), report.ToString());
        Assert.Equal(CloseInitiator.Application, report.CloseInitiator);
        Assert.Equal(8, report.MessagesSent);

        TlsTestServer.ServedConnection served = server.Finished.Take(ReceiveTimeout);
        Assert.Null(served.Error);
        Assert.Equal("localhost", served.ServerName);
        Assert.Equal(SslProtocols.Tls12, served.Protocol);
        Assert.True(served.CleanTlsEnd, "the client's TLS stream did not end cleanly");
        Assert.Equal(21, served.RecordTypes()[^1]); // the last record before the FIN is an alert: close_notify
        HostileServerSupport.AssertNoLeaks(pool, loopsBefore);
    }

    [Fact]
    public void Wss_negotiates_TLS_1_3_by_default_and_validates_the_IP_address_name()
    {
        using var server = new TlsTestServer(TestCertificates.Localhost);
        var pool = new SidecarBufferPool();
        int loopsBefore = SidecarLoop.LiveLoops;
        var ws = SidecarWebSocket.Connect(server.Uri("127.0.0.1"), Options(pool, TestCertificates.Trusting(TestCertificates.Localhost)));
        for (int i = 0; i < 200; i++)
        {
            ws.Send(BitConverter.GetBytes(i), MessageType.Binary);
            using ReceivedMessage echo = ws.Receive(ReceiveTimeout);
            Assert.Equal(i, BitConverter.ToInt32(echo.Span));
        }

        ShutdownReport report = ws.Exit();
        Assert.Null(report.Fault);
        TlsTestServer.ServedConnection served = server.Finished.Take(ReceiveTimeout);
        Assert.Equal(SslProtocols.Tls13, served.Protocol);
        HostileServerSupport.AssertNoLeaks(pool, loopsBefore);
    }

    [Fact]
    public void An_untrusted_self_signed_certificate_fails_with_CertificateUntrusted()
    {
        using var server = new TlsTestServer(TestCertificates.Localhost);
        WebSocketTlsException e = ConnectFails(server.Uri(), tls: null, TimeSpan.FromSeconds(10));
        Assert.Equal(TlsFailure.CertificateUntrusted, e.Failure);
        Assert.True(e.PolicyErrors.HasFlag(SslPolicyErrors.RemoteCertificateChainErrors), e.Message);
    }

    [Fact]
    public void A_certificate_for_another_host_fails_with_HostNameMismatch()
    {
        using X509Certificate2 other = TestCertificates.Create("other.example", DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        using var server = new TlsTestServer(other);
        WebSocketTlsException e = ConnectFails(server.Uri(), TestCertificates.Trusting(other), TimeSpan.FromSeconds(10));
        Assert.Equal(TlsFailure.HostNameMismatch, e.Failure);
        Assert.Equal(SslPolicyErrors.RemoteCertificateNameMismatch, e.PolicyErrors);
    }

    [Fact]
    public void An_expired_certificate_fails_with_CertificateExpired()
    {
        using X509Certificate2 expired = TestCertificates.Create("localhost", DateTimeOffset.UtcNow.AddDays(-30), DateTimeOffset.UtcNow.AddDays(-1));
        using var server = new TlsTestServer(expired);
        WebSocketTlsException e = ConnectFails(server.Uri(), TestCertificates.Trusting(expired), TimeSpan.FromSeconds(10));
        Assert.Equal(TlsFailure.CertificateExpired, e.Failure);
        Assert.True(e.ChainStatus.HasFlag(X509ChainStatusFlags.NotTimeValid), e.Message);
    }

    [Fact]
    public void A_validation_callback_that_refuses_fails_with_CertificateRejected()
    {
        using var server = new TlsTestServer(TestCertificates.Localhost);
        int calls = 0;
        var tls = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            {
                Interlocked.Increment(ref calls);
                Assert.Equal(TestCertificates.Localhost.Thumbprint, new X509Certificate2(certificate!).Thumbprint);
                return false;
            },
        };
        WebSocketTlsException e = ConnectFails(server.Uri(), tls, TimeSpan.FromSeconds(10));
        Assert.Equal(TlsFailure.CertificateUntrusted, e.Failure); // what the runtime found is still reported
        Assert.Equal(1, calls);

        // A callback that refuses a certificate the runtime found fine is a plain rejection.
        var strict = TestCertificates.Trusting(TestCertificates.Localhost);
        strict.RemoteCertificateValidationCallback = (_, _, _, errors) => false;
        WebSocketTlsException rejected = ConnectFails(server.Uri(), strict, TimeSpan.FromSeconds(10));
        Assert.Equal(TlsFailure.CertificateRejected, rejected.Failure);
        Assert.Equal(SslPolicyErrors.None, rejected.PolicyErrors);
    }

    [Fact]
    public void A_validation_callback_that_accepts_lets_an_untrusted_certificate_through()
    {
        using var server = new TlsTestServer(TestCertificates.Localhost);
        var pool = new SidecarBufferPool();
        // Accepts only the certificate the test made: what an application that pins a certificate does.
        var tls = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate?.GetCertHashString() == TestCertificates.Localhost.GetCertHashString(),
        };
        var ws = SidecarWebSocket.Connect(server.Uri(), Options(pool, tls));
        ws.Send("accepted"u8, MessageType.Text);
        using (ReceivedMessage echo = ws.Receive(ReceiveTimeout))
        {
            Assert.Equal("accepted", echo.GetText());
        }

        Assert.Null(ws.Exit().Fault);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void A_server_that_stalls_mid_handshake_fails_with_HandshakeTimedOut_at_the_connect_deadline()
    {
        using var server = new TlsTestServer(TestCertificates.Localhost, TlsServerBehaviour.StallAfterClientHello);
        TimeSpan deadline = TimeSpan.FromMilliseconds(700);
        Stopwatch clock = Stopwatch.StartNew();
        WebSocketTlsException e = ConnectFails(server.Uri(), TestCertificates.Trusting(TestCertificates.Localhost), deadline);
        Assert.Equal(TlsFailure.HandshakeTimedOut, e.Failure);
        Assert.True(clock.Elapsed >= deadline - TimeSpan.FromMilliseconds(50), $"failed early: {clock.Elapsed}");
    }

    [Fact]
    public void A_server_that_resets_mid_handshake_fails_with_ConnectionReset_at_once()
    {
        using var server = new TlsTestServer(TestCertificates.Localhost, TlsServerBehaviour.ResetAfterClientHello);
        Stopwatch clock = Stopwatch.StartNew();
        WebSocketTlsException e = ConnectFails(server.Uri(), TestCertificates.Trusting(TestCertificates.Localhost), TimeSpan.FromSeconds(30));
        Assert.Equal(TlsFailure.ConnectionReset, e.Failure);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }

    [Fact]
    public void Wss_connects_and_echoes_while_every_thread_pool_thread_is_blocked()
    {
        using var server = new TlsTestServer(TestCertificates.Localhost);
        var pool = new SidecarBufferPool();
        SslClientAuthenticationOptions tls = TestCertificates.Trusting(TestCertificates.Localhost);
        ThreadPool.GetMaxThreads(out int maxWorkers, out int maxIo);
        ThreadPool.GetMinThreads(out int minWorkers, out _);
        var gate = new ManualResetEventSlim(); // not disposed: queued blockers may start after the test ends
        using var probeRan = new ManualResetEventSlim();
        try
        {
            Assert.True(ThreadPool.SetMaxThreads(Math.Max(minWorkers, Environment.ProcessorCount), maxIo));
            for (int i = 0; i < 256; i++)
            {
                ThreadPool.UnsafeQueueUserWorkItem(_ => gate.Wait(), null);
            }

            ThreadPool.UnsafeQueueUserWorkItem(_ => probeRan.Set(), null);
            Assert.False(probeRan.Wait(300), "the thread pool is not starved; the test proves nothing");

            // Handshake, certificate validation, echoes and the close all run on the loop thread.
            var ws = SidecarWebSocket.Connect(server.Uri(), Options(pool, tls));
            for (int i = 0; i < 100; i++)
            {
                ws.Send(new byte[1000], MessageType.Binary);
                using ReceivedMessage echo = ws.Receive(ReceiveTimeout);
                Assert.Equal(1000, echo.Length);
            }

            ShutdownReport report = ws.Exit();
            Assert.Null(report.Fault);
            Assert.True(report.ThreadJoined);
            Assert.False(probeRan.IsSet);
        }
        finally
        {
            ThreadPool.SetMaxThreads(maxWorkers, maxIo);
            gate.Set();
        }

        Assert.Equal(0, pool.Outstanding);
    }

    private static WebSocketTlsException ConnectFails(Uri uri, SslClientAuthenticationOptions? tls, TimeSpan connectTimeout)
    {
        var pool = new SidecarBufferPool();
        int loopsBefore = SidecarLoop.LiveLoops;
        Stopwatch clock = Stopwatch.StartNew();
        var e = Assert.Throws<WebSocketTlsException>(() => SidecarWebSocket.Connect(uri, Options(pool, tls, connectTimeout)));
        HostileServerSupport.AssertWithin(clock.Elapsed, connectTimeout, "the failed TLS connect");
        Assert.Equal(WebSocketCloseCode.Abnormal, e.CloseCode);
        HostileServerSupport.AssertNoLeaks(pool, loopsBefore);
        return e;
    }

    private static SidecarOptions Options(SidecarBufferPool pool, SslClientAuthenticationOptions? tls, TimeSpan? connectTimeout = null) => new()
    {
        BufferPool = pool,
        Tls = tls,
        ConnectTimeout = connectTimeout ?? TimeSpan.FromSeconds(10),
        CloseTimeout = TimeSpan.FromSeconds(5),
        JoinTimeout = TimeSpan.FromSeconds(5),
    };
}
