namespace FastSidecar.Tests.Reconnect;

public sealed class ReconnectPolicyTests
{
    [Theory]
    [InlineData(1001, true)]
    [InlineData(1006, true)]
    [InlineData(1011, true)]
    [InlineData(1012, true)]
    [InlineData(1013, true)]
    [InlineData(1000, false)]
    [InlineData(1008, false)]
    [InlineData(4000, false)]
    public void A_close_by_the_peer_reconnects_only_for_codes_that_mean_come_back(int code, bool expected) =>
        Assert.Equal(expected, ReconnectPolicy.IsTransient(new WebSocketClosedException("closed", (WebSocketCloseCode)code)));

    [Theory]
    [InlineData(401, false)]
    [InlineData(403, false)]
    [InlineData(404, false)]
    [InlineData(400, false)]
    [InlineData(408, true)]
    [InlineData(429, true)]
    [InlineData(502, true)]
    [InlineData(503, true)]
    public void A_handshake_refusal_the_server_means_does_not_reconnect(int status, bool expected) =>
        Assert.Equal(expected, ReconnectPolicy.IsTransient(new WebSocketHandshakeException("refused", status)));

    [Fact]
    public void Connection_failures_reconnect_and_protocol_violations_and_certificate_failures_do_not()
    {
        Assert.True(ReconnectPolicy.IsTransient(new WebSocketConnectionException("reset")));
        Assert.True(ReconnectPolicy.IsTransient(new WebSocketHandshakeException("peer closed during the handshake")));
        Assert.True(ReconnectPolicy.IsTransient(new WebSocketTlsException("reset", TlsFailure.ConnectionReset)));
        Assert.False(ReconnectPolicy.IsTransient(new WebSocketTlsException("bad cert", TlsFailure.CertificateUntrusted)));
        Assert.False(ReconnectPolicy.IsTransient(new WebSocketProtocolException(WebSocketCloseCode.ProtocolError, "bad frame")));
        Assert.False(ReconnectPolicy.IsTransient(new SidecarWebSocketException("the hook threw")));
    }

    [Fact]
    public void The_delay_cap_grows_by_the_multiplier_up_to_the_maximum()
    {
        var policy = new ReconnectPolicy { InitialDelay = TimeSpan.FromMilliseconds(10), Multiplier = 3, MaxDelay = TimeSpan.FromMilliseconds(200) };
        Assert.Equal(new[] { 10.0, 30, 90, 200, 200 }, Enumerable.Range(1, 5).Select(n => policy.DelayCap(n).TotalMilliseconds));
        Assert.Equal(TimeSpan.FromMilliseconds(200), policy.DelayCap(int.MaxValue)); // no overflow
    }

    [Fact]
    public void Full_jitter_draws_uniformly_between_zero_and_the_cap()
    {
        var policy = new ReconnectPolicy { InitialDelay = TimeSpan.FromMilliseconds(100), Jitter = new Random(5) };
        TimeSpan cap = policy.DelayCap(3);
        double[] drawn = Enumerable.Range(0, 10_000).Select(_ => policy.NextDelay(3).TotalMilliseconds).ToArray();
        Assert.All(drawn, d => Assert.InRange(d, 0, cap.TotalMilliseconds));
        Assert.InRange(drawn.Average(), cap.TotalMilliseconds * 0.45, cap.TotalMilliseconds * 0.55);
        Assert.True(drawn.Min() < cap.TotalMilliseconds * 0.05 && drawn.Max() > cap.TotalMilliseconds * 0.95, "the draws span the whole range");
    }

    [Fact]
    public void Invalid_settings_are_refused_by_name_when_the_connection_starts()
    {
        Assert.Contains("Multiplier", Start(new ReconnectPolicy { Multiplier = 0.5 }).Message, StringComparison.Ordinal);
        Assert.Contains("MaxAttempts", Start(new ReconnectPolicy { MaxAttempts = 0 }).Message, StringComparison.Ordinal);
        Assert.Contains("InitialDelay", Start(new ReconnectPolicy { InitialDelay = TimeSpan.FromSeconds(-1) }).Message, StringComparison.Ordinal);
        Assert.Contains("MaxDelay", Start(new ReconnectPolicy { InitialDelay = TimeSpan.FromSeconds(2), MaxDelay = TimeSpan.FromSeconds(1) }).Message, StringComparison.Ordinal);
        Assert.Contains("Multiplier", Start(new ReconnectPolicy { Multiplier = double.NaN }).Message, StringComparison.Ordinal);

        static ArgumentException Start(ReconnectPolicy policy) => Assert.ThrowsAny<ArgumentException>(
            () => SidecarWebSocket.Start(new Uri("ws://127.0.0.1:1/"), new SidecarOptions { Reconnect = policy }));
    }
}
