using FastSidecar.Tests.Peers;

namespace FastSidecar.Tests.Reconnect;

/// <summary>Real peers that die and come back on the same port while a client sends: nothing is lost without a word.</summary>
public sealed class PeerRestartTests
{
    private static readonly ReconnectPolicy s_quick = new()
    {
        InitialDelay = TimeSpan.FromMilliseconds(5),
        MaxDelay = TimeSpan.FromMilliseconds(50),
    };

    [Fact]
    public void The_node_ws_peer_killed_and_restarted_three_times_loses_no_message_without_a_word()
    {
        PeerProcess peer = NodeWsPeer.StartProcess();
        int port = peer.Port;
        try
        {
            using var driver = new ReconnectDriver(peer.Uri, s_quick);
            driver.WaitForTraffic();
            for (int restart = 0; restart < 3; restart++)
            {
                peer.Dispose(); // SIGKILL: the kernel closes its sockets under whatever was in flight
                ReconnectDriver.WaitFor(() => driver.Notices().Count == restart + 1, TimeSpan.FromSeconds(10), "the loss's notice");
                Assert.Equal(SidecarWebSocketState.Reconnecting, driver.Socket.State);
                peer = NodeWsPeer.StartProcess(port: port);
                driver.WaitForTraffic();
                Assert.Equal(SidecarWebSocketState.Open, driver.Socket.State);
            }

            ShutdownReport report = driver.StopAndExit();
            driver.AssertAccounting(report, expectedNotices: 3);
            Assert.All(driver.Notices(), n => Assert.IsType<WebSocketConnectionException>(n.Cause));
        }
        finally
        {
            peer.Dispose();
        }
    }

    [Fact]
    public async Task Kestrel_stopped_and_restarted_twice_loses_no_message_without_a_word()
    {
        KestrelEchoPeer peer = await KestrelEchoPeer.StartAsync();
        int port = peer.Port;
        try
        {
            using var driver = new ReconnectDriver(peer.Uri, s_quick);
            driver.WaitForTraffic();
            for (int restart = 0; restart < 2; restart++)
            {
                await peer.StopAbruptlyAsync();
                ReconnectDriver.WaitFor(() => driver.Notices().Count == restart + 1, TimeSpan.FromSeconds(10), "the loss's notice");
                peer = await KestrelEchoPeer.StartAsync(port);
                driver.WaitForTraffic();
            }

            ShutdownReport report = driver.StopAndExit();
            driver.AssertAccounting(report, expectedNotices: 2);
        }
        finally
        {
            await peer.DisposeAsync();
        }
    }

    [Fact]
    public void A_service_restart_close_reconnects_with_its_code_and_a_normal_close_ends_the_connection()
    {
        using PeerProcess peer = NodeWsPeer.StartProcess();
        using var driver = new ReconnectDriver(peer.Uri, s_quick, pace: TimeSpan.FromMilliseconds(2));
        driver.WaitForTraffic();
        driver.Socket.Send(EchoProtocol.Close(1012, "restart"));
        ReconnectDriver.WaitFor(() => driver.Notices().Count == 1, TimeSpan.FromSeconds(10), "the 1012's notice");
        ReconnectNotice notice = driver.Notices()[0];
        Assert.Equal((WebSocketCloseCode)1012, notice.CloseCode);
        Assert.True(notice.MessagesSent > 0, "the messages before the peer's close frame count as sent");
        driver.WaitForTraffic();

        driver.Socket.Send(EchoProtocol.Close(1000, "done"));
        ReconnectDriver.WaitFor(() => driver.Socket.State == SidecarWebSocketState.Closed, TimeSpan.FromSeconds(10), "the normal close to end it");
        Assert.Single(driver.Notices());
        Assert.Equal(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, driver.Socket.CloseStatus);
        ShutdownReport report = driver.Socket.Exit();
        // The two close commands went through Send too.
        Assert.Equal(driver.Accepted + 2, report.MessagesSent + report.MessagesInDoubt + report.MessagesNotSent);
    }
}
