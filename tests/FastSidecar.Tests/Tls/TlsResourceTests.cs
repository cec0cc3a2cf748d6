using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using FastSidecar.Buffers;
using FastSidecar.Testing;
using FastSidecar.Tests.Facade;

namespace FastSidecar.Tests.Tls;

/// <summary>wss:// costs nothing per message on the loop thread, and leaves nothing behind across many cycles, failed ones included.</summary>
[Collection(ResourceCountingGroup.Name)]
public sealed class TlsResourceTests
{
    private static readonly TimeSpan ReceiveTimeout = TimeSpan.FromSeconds(20);

    [Fact]
    public void Steady_state_echo_over_tls_allocates_nothing_on_the_loop_thread()
    {
        using var server = new TlsTestServer(TestCertificates.Localhost);
        var pool = new SidecarBufferPool();
        var ws = SidecarWebSocket.Connect(server.Uri(), new SidecarOptions { BufferPool = pool, Tls = TestCertificates.Trusting(TestCertificates.Localhost) });
        byte[] payload = new byte[64];
        void RoundTrips(int count)
        {
            for (int i = 0; i < count; i++)
            {
                ws.Send(payload, MessageType.Binary);
                using ReceivedMessage echo = ws.Receive(ReceiveTimeout);
                Assert.Equal(64, echo.Length);
            }
        }

        RoundTrips(2000); // warm-up: JIT, SslStream's buffers, the pool's size classes
        long before = ws.Loop.Invoke(() => ValueTask.FromResult(GC.GetAllocatedBytesForCurrentThread()), ReceiveTimeout);
        RoundTrips(5000);
        long after = ws.Loop.Invoke(() => ValueTask.FromResult(GC.GetAllocatedBytesForCurrentThread()), ReceiveTimeout);
        ws.Exit();

        // The two Invoke calls themselves may allocate a little; 5000 messages each way must not.
        Assert.True(after - before < 2048, $"the loop thread allocated {after - before} bytes for 5000 TLS round trips");
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Hundreds_of_wss_cycles_with_failed_handshakes_leave_no_thread_descriptor_or_rental_behind()
    {
        using var echo = new TlsTestServer(TestCertificates.Localhost);
        using var reset = new TlsTestServer(TestCertificates.Localhost, TlsServerBehaviour.ResetAfterClientHello);
        using var stall = new TlsTestServer(TestCertificates.Localhost, TlsServerBehaviour.StallAfterClientHello);
        using X509Certificate2 expired = TestCertificates.Create("localhost", DateTimeOffset.UtcNow.AddDays(-9), DateTimeOffset.UtcNow.AddDays(-2));
        using var expiredServer = new TlsTestServer(expired);
        var pool = new SidecarBufferPool();
        SslClientAuthenticationOptions trusting = TestCertificates.Trusting(TestCertificates.Localhost);

        void Cycle(int i)
        {
            switch (i % 4)
            {
                case 0:
                case 1:
                    var ws = SidecarWebSocket.Connect(echo.Uri(), new SidecarOptions { BufferPool = pool, Tls = trusting });
                    ws.Send("cycle"u8, MessageType.Text);
                    using (ReceivedMessage m = ws.Receive(ReceiveTimeout))
                    {
                        Assert.Equal("cycle", m.GetText());
                    }

                    Assert.Null(ws.Exit().Fault);
                    break;
                case 2:
                    Assert.Equal(TlsFailure.ConnectionReset, Assert.Throws<WebSocketTlsException>(
                        () => SidecarWebSocket.Connect(reset.Uri(), new SidecarOptions { BufferPool = pool, Tls = trusting })).Failure);
                    break;
                default:
                    bool stalled = i % 8 == 3;
                    var options = new SidecarOptions
                    {
                        BufferPool = pool,
                        Tls = stalled ? trusting : TestCertificates.Trusting(expired),
                        ConnectTimeout = TimeSpan.FromMilliseconds(100),
                    };
                    var e = Assert.Throws<WebSocketTlsException>(() => SidecarWebSocket.Connect(stalled ? stall.Uri() : expiredServer.Uri(), options));
                    Assert.Equal(stalled ? TlsFailure.HandshakeTimedOut : TlsFailure.CertificateExpired, e.Failure);
                    break;
            }
        }

        for (int i = 0; i < 24; i++)
        {
            Cycle(i);
        }

        ProcessCensus before = ProcessCensus.Take();
        for (int i = 0; i < 200; i++)
        {
            Cycle(i);
        }

        // The test servers close their side on their own threads; give them a moment, then count.
        ProcessCensus after = ProcessCensus.Take();
        for (int i = 0; i < 50 && after.OpenFileDescriptors > before.OpenFileDescriptors; i++)
        {
            Thread.Sleep(100);
            after = ProcessCensus.Take();
        }

        Assert.Equal(0, pool.Outstanding);
        Assert.Equal(before.LiveLoops, after.LiveLoops);
        Assert.Equal(before.LiveConnections, after.LiveConnections);
        Assert.Equal(before.SidecarThreads, after.SidecarThreads);
        Assert.InRange(after.OpenFileDescriptors, 0, before.OpenFileDescriptors);
    }
}
