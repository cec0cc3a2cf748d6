using System.Diagnostics;
using FastSidecar.Testing;
using FastSidecar.Tests.Facade;

namespace FastSidecar.Tests.Reconnect;

/// <summary>A TCP relay between the client and the echo server cuts, delays and blackholes the connection.</summary>
public sealed class RelayFaultTests(EchoServerFixture fixture) : IClassFixture<EchoServerFixture>
{
    [Fact]
    public void Cut_mid_message_cut_mid_handshake_delayed_and_blackholed_every_message_is_accounted_for()
    {
        using var relay = new TcpRelay(fixture.Server.Port);
        // The first connection dies in the middle of a 4 KiB message: the upgrade request (< 400 bytes) plus 10.5 frames.
        relay.CutNextUpstreamAfter(400 + (4096 * 21 / 2));
        using var driver = new ReconnectDriver(relay.UriFor(), new ReconnectPolicy
        {
            InitialDelay = TimeSpan.FromMilliseconds(5),
            MaxDelay = TimeSpan.FromMilliseconds(20),
        }, payloadSize: 4096, keepAlive: TimeSpan.FromSeconds(1));
        // The keep-alive must tell the 20 ms relay delay below (alive) from the blackhole (dead) on a machine busy
        // with other tests: a second of ping interval and a second of timeout leave the delayed pongs a wide margin,
        // and the blackhole is still found within two seconds.
        // Its replacement dies inside the server's 101 response: an attempt that fails, not a lost connection.
        relay.CutNextDownstreamAfter(40);
        ReconnectDriver.WaitFor(() => driver.Notices().Count == 1, TimeSpan.FromSeconds(10), "the cut mid-message");
        driver.WaitForTraffic();
        Assert.True(relay.Accepted >= 3, $"the mid-handshake cut happened: {relay.Accepted} connections");

        relay.Delay = TimeSpan.FromMilliseconds(20); // slow, not dead: no reconnect
        driver.WaitForTraffic(5);
        relay.Delay = TimeSpan.Zero;
        driver.WaitForTraffic();
        Assert.Single(driver.Notices());

        long acceptedBefore = driver.Accepted;
        relay.BlackholeAll(); // silence: the keep-alive finds the peer dead, and what was written meanwhile is in doubt
        ReconnectDriver.WaitFor(() => driver.Notices().Count == 2, TimeSpan.FromSeconds(10), "the keep-alive to give up on the blackhole");
        ReconnectNotice blackholed = driver.Notices()[1];
        Assert.IsType<WebSocketConnectionException>(blackholed.Cause);
        Assert.True(driver.Accepted > acceptedBefore && blackholed.MessagesInDoubt > 0, $"messages written into the blackhole are in doubt: {blackholed}");
        driver.WaitForTraffic();

        ShutdownReport report = driver.StopAndExit();
        driver.AssertAccounting(report, expectedNotices: 2);
    }

    [Fact]
    public void A_server_that_refuses_for_good_gets_exactly_the_configured_attempts_each_after_its_drawn_delay()
    {
        using var relay = new TcpRelay(fixture.Server.Port);
        const int Seed = 1234;
        var policy = new ReconnectPolicy
        {
            InitialDelay = TimeSpan.FromMilliseconds(20),
            Multiplier = 2,
            MaxDelay = TimeSpan.FromMilliseconds(100),
            MaxAttempts = 5,
            Jitter = new Random(Seed),
        };
        using var ws = SidecarWebSocket.Connect(relay.UriFor(), new SidecarOptions { Reconnect = policy });
        relay.Refusing = true;
        long cutAt = Stopwatch.GetTimestamp();
        relay.CutAll();

        // The first receive is the loss; after the last failed attempt the connection ends with that attempt's error.
        using (ReceivedMessage notice = ws.Receive(TimeSpan.FromSeconds(10)))
        {
            Assert.NotNull(notice.Reconnect);
        }

        Assert.ThrowsAny<SidecarWebSocketException>(() => ws.Receive(TimeSpan.FromSeconds(10)));
        Assert.Equal(SidecarWebSocketState.Closed, ws.State);
        Thread.Sleep(300); // nothing more comes: it has given up
        long[] accepts = relay.AcceptTimestamps();
        Assert.Equal(1 + policy.MaxAttempts, accepts.Length);

        // The same seed draws the same delays: each attempt came no sooner than its delay after the previous one ended.
        var replica = new ReconnectPolicy { InitialDelay = policy.InitialDelay, Multiplier = policy.Multiplier, MaxDelay = policy.MaxDelay, Jitter = new Random(Seed) };
        long previous = cutAt;
        for (int attempt = 1; attempt <= policy.MaxAttempts; attempt++)
        {
            TimeSpan drawn = replica.NextDelay(attempt);
            Assert.InRange(drawn, TimeSpan.Zero, policy.DelayCap(attempt));
            TimeSpan gap = Stopwatch.GetElapsedTime(previous, accepts[attempt]);
            Assert.True(gap >= drawn - TimeSpan.FromMilliseconds(1), $"attempt {attempt} came {gap.TotalMilliseconds:0.0} ms after the last, before its delay {drawn.TotalMilliseconds:0.0} ms");
            previous = accepts[attempt];
        }

        ShutdownReport report = ws.Exit();
        Assert.True(report.ThreadJoined);
    }

    [Fact]
    public void Exit_during_a_backoff_is_bounded_and_counts_the_messages_queued_meanwhile_as_not_sent()
    {
        using var relay = new TcpRelay(fixture.Server.Port);
        var pool = new SidecarBufferPool();
        var options = new SidecarOptions
        {
            BufferPool = pool,
            CloseTimeout = TimeSpan.FromMilliseconds(200),
            JoinTimeout = TimeSpan.FromSeconds(1),
            Reconnect = new ReconnectPolicy { InitialDelay = TimeSpan.FromSeconds(30), MaxDelay = TimeSpan.FromSeconds(30), Jitter = new AlmostOne() },
        };
        var ws = SidecarWebSocket.Connect(relay.UriFor(), options);
        ws.Send("before");
        using (ReceivedMessage echo = ws.Receive(TimeSpan.FromSeconds(5)))
        {
            Assert.Equal("before", echo.GetText());
        }

        relay.CutAll();
        ReconnectDriver.WaitFor(() => ws.State == SidecarWebSocketState.Reconnecting, TimeSpan.FromSeconds(5), "the backoff");
        for (int i = 0; i < 10; i++)
        {
            ws.Send("queued during the backoff"); // Send keeps working: queued for the next connection
        }

        var clock = Stopwatch.StartNew();
        ShutdownReport report = ws.Exit();
        Assert.True(clock.Elapsed < options.CloseTimeout + options.JoinTimeout + TimeSpan.FromMilliseconds(100), $"Exit took {clock.Elapsed}");
        Assert.Equal(10, report.MessagesNotSent);
        Assert.Equal(11, report.MessagesSent + report.MessagesInDoubt + report.MessagesNotSent);
        Assert.True(report.ThreadJoined);
        Assert.Equal(0, pool.Outstanding);
        Assert.Equal(1, relay.Accepted); // the 30 s backoff never ended
    }

    [Fact]
    public void Exit_during_a_reconnect_attempt_that_stalls_in_the_handshake_is_bounded()
    {
        using var relay = new TcpRelay(fixture.Server.Port);
        var options = new SidecarOptions
        {
            CloseTimeout = TimeSpan.FromMilliseconds(200),
            JoinTimeout = TimeSpan.FromSeconds(1),
            Reconnect = new ReconnectPolicy { InitialDelay = TimeSpan.Zero, MaxDelay = TimeSpan.Zero },
        };
        var ws = SidecarWebSocket.Connect(relay.UriFor(), options);
        try
        {
            relay.Delay = TimeSpan.FromSeconds(30); // the next handshake's bytes sit in the relay
            relay.CutAll();
            ReconnectDriver.WaitFor(() => relay.Accepted == 2, TimeSpan.FromSeconds(5), "the reconnect attempt");
            ws.Send("queued during the attempt");
            Assert.Equal(SidecarWebSocketState.Reconnecting, ws.State);

            var clock = Stopwatch.StartNew();
            ShutdownReport report = ws.Exit();
            Assert.True(clock.Elapsed < options.CloseTimeout + options.JoinTimeout + TimeSpan.FromMilliseconds(100), $"Exit took {clock.Elapsed}");
            Assert.Equal(1, report.MessagesNotSent);
            Assert.True(report.ThreadJoined);
        }
        finally
        {
            // A failed wait must not leave the connection and its loop thread to the tests that count them after it.
            ws.Exit();
        }
    }

    /// <summary>Draws the top of every range: a backoff as long as the cap.</summary>
    private sealed class AlmostOne : Random
    {
        public override double NextDouble() => 0.999;
    }
}
