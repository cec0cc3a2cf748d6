using System.Diagnostics;
using FastSidecar.Buffers;

namespace FastSidecar.Tests.Facade;

public sealed class KeepAliveTests(EchoServerFixture fixture) : IClassFixture<EchoServerFixture>
{
    [Fact]
    public void A_dead_peer_is_detected_by_the_keep_alive_and_surfaces_as_a_connection_error()
    {
        var pool = new SidecarBufferPool();
        using var peer = new NonReadingPeer();
        var options = new SidecarOptions
        {
            BufferPool = pool,
            KeepAliveInterval = TimeSpan.FromMilliseconds(100),
            KeepAliveTimeout = TimeSpan.FromMilliseconds(100),
            CloseTimeout = TimeSpan.FromMilliseconds(100),
        };
        // The clock starts before Connect: the keep-alive timer starts at the handshake, inside Connect, so a caller
        // descheduled on its way out of Connect cannot make the timer look shorter than it was.
        var clock = Stopwatch.StartNew();
        using var ws = SidecarWebSocket.Connect(peer.Uri, options);
        var error = Assert.Throws<WebSocketConnectionException>(() => ws.Receive(TimeSpan.FromSeconds(10)));
        Assert.Contains("presumed dead", error.Message, StringComparison.Ordinal);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(150), TimeSpan.FromSeconds(5));
        ws.Exit();
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void An_idle_but_live_peer_answers_the_keep_alive_and_the_connection_stays_open()
    {
        var pool = new SidecarBufferPool();
        var options = new SidecarOptions
        {
            BufferPool = pool,
            KeepAliveInterval = TimeSpan.FromMilliseconds(50),
            KeepAliveTimeout = TimeSpan.FromMilliseconds(500),
        };
        using var ws = SidecarWebSocket.Connect(fixture.Server.Uri, options);
        // Idle for many keep-alive intervals: every probe is answered by the server's automatic pong.
        Assert.Throws<TimeoutException>(() => ws.Receive(TimeSpan.FromMilliseconds(600)));
        Assert.Equal(SidecarWebSocketState.Open, ws.State);
        ws.Send("alive"u8, MessageType.Text);
        using (ReceivedMessage echo = ws.Receive(TimeSpan.FromSeconds(10)))
        {
            Assert.Equal("alive", echo.GetText());
        }

        Assert.Equal(WebSocketCloseCode.NormalClosure, ws.Exit().CloseCode);
        Assert.Equal(0, pool.Outstanding);
    }
}
