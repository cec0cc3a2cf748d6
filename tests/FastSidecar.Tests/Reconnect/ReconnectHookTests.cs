using FastSidecar.Testing;
using FastSidecar.Tests.Facade;

namespace FastSidecar.Tests.Reconnect;

public sealed class ReconnectHookTests(EchoServerFixture fixture) : IClassFixture<EchoServerFixture>
{
    [Fact]
    public void A_hook_that_throws_fails_the_connection_with_its_exception_and_does_not_reconnect()
    {
        var thrown = new InvalidOperationException("no subscriptions today");
        using var ws = SidecarWebSocket.Connect(fixture.Server.Uri, new SidecarOptions
        {
            Reconnect = new ReconnectPolicy { InitialDelay = TimeSpan.Zero, MaxDelay = TimeSpan.Zero, OnConnected = _ => throw thrown },
        });

        SidecarWebSocketException failure = Assert.ThrowsAny<SidecarWebSocketException>(() => ws.Receive(TimeSpan.FromSeconds(5)));
        Assert.Same(thrown, failure.InnerException);
        Assert.Equal(WebSocketCloseCode.InternalServerError, failure.CloseCode);
        Assert.Equal(SidecarWebSocketState.Closed, ws.State);
    }

    [Fact]
    public void The_sender_is_dead_after_the_hook_returns_and_a_receive_into_a_buffer_reports_the_loss()
    {
        using var relay = new TcpRelay(fixture.Server.Port);
        ReconnectSender? kept = null;
        using var ws = SidecarWebSocket.Connect(relay.UriFor(), new SidecarOptions
        {
            Reconnect = new ReconnectPolicy
            {
                InitialDelay = TimeSpan.Zero,
                MaxDelay = TimeSpan.Zero,
                OnConnected = sender =>
                {
                    kept = sender;
                    sender.Send("sub"u8, MessageType.Text);
                },
            },
        });
        byte[] buffer = new byte[64];
        Assert.Equal(3, ws.Receive(buffer, TimeSpan.FromSeconds(5)).Length);
        Assert.Null(kept!.Notice); // the first connection replaces nothing
        Assert.Throws<InvalidOperationException>(() => kept.Send("late"u8));

        relay.CutAll();
        ReceiveResult loss = ws.Receive(buffer, TimeSpan.FromSeconds(5));
        Assert.NotNull(loss.Reconnect);
        Assert.Equal(0, loss.Length);
        ReceiveResult resubscribed = ws.Receive(buffer, TimeSpan.FromSeconds(5));
        Assert.Null(resubscribed.Reconnect);
        Assert.Equal("sub"u8.ToArray(), buffer[..resubscribed.Length]);
        Assert.Same(loss.Reconnect, kept.Notice); // the new connection's sender names the loss it replaces
    }

    [Fact]
    public void A_shared_loop_that_stops_during_a_backoff_ends_the_connection_and_Exit_counts_exactly()
    {
        using var relay = new TcpRelay(fixture.Server.Port);
        var loop = new SidecarLoop(new SidecarLoopOptions { Name = "shared, stopped in a backoff" });
        var ws = SidecarWebSocket.Connect(relay.UriFor(), new SidecarOptions
        {
            Loop = loop,
            Reconnect = new ReconnectPolicy { InitialDelay = TimeSpan.FromSeconds(30), MaxDelay = TimeSpan.FromSeconds(30), Jitter = new AlwaysHalf() },
        });
        relay.CutAll();
        ReconnectDriver.WaitFor(() => ws.State == SidecarWebSocketState.Reconnecting, TimeSpan.FromSeconds(5), "the backoff");
        ws.Send("queued during the backoff");

        Assert.True(loop.Stop(TimeSpan.FromSeconds(5)).Joined);
        Assert.Equal(SidecarWebSocketState.Closed, ws.State);
        using (ReceivedMessage notice = ws.Receive(TimeSpan.FromSeconds(1)))
        {
            Assert.NotNull(notice.Reconnect); // the loss stays readable before the end
        }

        Assert.ThrowsAny<SidecarWebSocketException>(() => ws.Receive(TimeSpan.FromSeconds(1)));
        ShutdownReport report = ws.Exit();
        Assert.Equal(1, report.MessagesNotSent);
        Assert.Equal(1, report.MessagesSent + report.MessagesInDoubt + report.MessagesNotSent);
    }

    private sealed class AlwaysHalf : Random
    {
        public override double NextDouble() => 0.5;
    }
}
