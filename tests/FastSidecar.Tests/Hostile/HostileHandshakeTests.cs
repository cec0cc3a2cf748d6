using System.Net.Sockets;
using System.Text;
using FastSidecar.Buffers;
using FastSidecar.Tests.Peers;
using static FastSidecar.Tests.Hostile.HostileServerSupport;

namespace FastSidecar.Tests.Hostile;

/// <summary>Servers that answer the opening handshake wrongly (RFC 6455 §4.1): Connect throws, in time, leaving nothing behind.</summary>
[Collection(HostileServerGroup.Name)]
public sealed class HostileHandshakeTests
{
    [Fact]
    public void Wrong_Sec_WebSocket_Accept_fails_the_handshake()
    {
        int loops = SidecarLoop.LiveLoops;
        var pool = new SidecarBufferPool();
        using var server = new ScriptedServer(
            ScriptStep.ReadHandshakeRequest(),
            ScriptStep.SendHandshakeResponse(key =>
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "
                + ScriptedServer.ComputeAccept(key + "x") + "\r\n\r\n"),
            ScriptStep.StaySilent());
        var clock = Clock();

        var ex = Assert.Throws<WebSocketHandshakeException>(() => SidecarWebSocket.Connect(server.Uri, Options(pool)));

        AssertWithin(clock.Elapsed, TimeSpan.Zero, "failing on a wrong accept");
        Assert.Equal(101, ex.StatusCode);
        Assert.Contains("Sec-WebSocket-Accept", ex.Message, StringComparison.Ordinal);
        var connection = server.WaitForConnection(Generous);
        Assert.True(connection.WaitForClientTcpClose(Generous), "the client must drop the connection");
        Assert.Empty(connection.Frames);
        AssertNoLeaks(pool, loops);
    }

    [Fact]
    public void A_403_answer_with_a_body_fails_with_its_status_code()
    {
        int loops = SidecarLoop.LiveLoops;
        var pool = new SidecarBufferPool();
        const string Body = "<html>forbidden: no token</html>";
        using var server = new ScriptedServer(
            ScriptStep.ReadHandshakeRequest(),
            ScriptStep.SendHandshakeResponse(_ =>
                $"HTTP/1.1 403 Forbidden\r\nContent-Type: text/html\r\nContent-Length: {Body.Length}\r\n\r\n{Body}"),
            ScriptStep.StaySilent());
        var clock = Clock();

        var ex = Assert.Throws<WebSocketHandshakeException>(() => SidecarWebSocket.Connect(server.Uri, Options(pool)));

        AssertWithin(clock.Elapsed, TimeSpan.Zero, "failing on a 403");
        Assert.Equal(403, ex.StatusCode);
        Assert.Contains("403", ex.Message, StringComparison.Ordinal);
        Assert.True(server.WaitForConnection(Generous).WaitForClientTcpClose(Generous));
        AssertNoLeaks(pool, loops);
    }

    [Fact]
    public void An_endless_header_block_fails_at_MaxHandshakeHeaderBytes()
    {
        int loops = SidecarLoop.LiveLoops;
        var pool = new SidecarBufferPool();
        using var server = new ScriptedServer(
            ScriptStep.ReadHandshakeRequest(),
            TrickleHeaders(line: "X-Filler: " + new string('a', 40) + "\r\n", pause: TimeSpan.FromMilliseconds(2)));
        TimeSpan connectTimeout = TimeSpan.FromSeconds(60);
        var clock = Clock();

        var ex = Assert.Throws<WebSocketHandshakeException>(() =>
            SidecarWebSocket.Connect(server.Uri, Options(pool, connectTimeout, maxHandshakeHeaderBytes: 1024)));

        // ~1 KiB at ~50 bytes per 2 ms: the size limit, not the 60 s deadline, ends it.
        AssertWithin(clock.Elapsed, TimeSpan.Zero, "failing at the header size limit");
        Assert.DoesNotContain("timed out", ex.Message, StringComparison.OrdinalIgnoreCase);
        Assert.True(server.WaitForConnection(Generous).WaitForClientTcpClose(Generous));
        AssertNoLeaks(pool, loops);
    }

    [Fact]
    public void A_header_block_trickling_forever_below_the_size_limit_fails_at_ConnectTimeout()
    {
        int loops = SidecarLoop.LiveLoops;
        var pool = new SidecarBufferPool();
        using var server = new ScriptedServer(
            ScriptStep.ReadHandshakeRequest(),
            TrickleHeaders(line: "X", pause: TimeSpan.FromMilliseconds(20)));
        TimeSpan connectTimeout = TimeSpan.FromSeconds(1);
        var clock = Clock();

        var ex = Assert.Throws<WebSocketHandshakeException>(() =>
            SidecarWebSocket.Connect(server.Uri, Options(pool, connectTimeout)));

        Assert.True(clock.Elapsed >= connectTimeout - TimeSpan.FromMilliseconds(50), $"gave up after {clock.Elapsed}, before the deadline");
        AssertWithin(clock.Elapsed, connectTimeout, "failing at the connect timeout");
        Assert.Contains("timed out", ex.Message, StringComparison.OrdinalIgnoreCase);
        Assert.True(server.WaitForConnection(Generous).WaitForClientTcpClose(Generous));
        AssertNoLeaks(pool, loops);
    }

    [Fact]
    public void TCP_reset_in_the_middle_of_the_response_head_fails_Connect()
    {
        int loops = SidecarLoop.LiveLoops;
        var pool = new SidecarBufferPool();
        using var server = new ScriptedServer(
            ScriptStep.ReadHandshakeRequest(),
            ScriptStep.SendHandshakeResponse(_ => "HTTP/1.1 101 Switching Protocols\r\nUpgrade: webs"),
            ScriptStep.Delay(TimeSpan.FromMilliseconds(50)),
            ScriptStep.ResetTcp());
        var clock = Clock();

        var ex = Assert.ThrowsAny<SidecarWebSocketException>(() => SidecarWebSocket.Connect(server.Uri, Options(pool)));

        AssertWithin(clock.Elapsed, TimeSpan.Zero, "failing on a reset during the handshake");
        Assert.True(ex is WebSocketConnectionException or WebSocketHandshakeException, ex.ToString());
        AssertNoLeaks(pool, loops);
    }

    /// <summary>A 101 status line, then header lines forever, never the blank line; stops when the client goes away.</summary>
    private static ScriptStep TrickleHeaders(string line, TimeSpan pause) => ScriptStep.Custom("trickle an endless header block", c =>
    {
        byte[] bytes = Encoding.ASCII.GetBytes(line);
        try
        {
            c.Send("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"u8);
            while (!c.Connection.ClientClosedTcp)
            {
                c.Send(bytes);
                c.Wait(pause);
            }
        }
        catch (SocketException)
        {
            // The client dropped the connection: what the test waits for.
        }
    });
}
