using FastSidecar.Buffers;
using FastSidecar.Tests.Peers;
using static FastSidecar.Tests.Hostile.HostileServerSupport;

namespace FastSidecar.Tests.Hostile;

/// <summary>
/// Servers that lose the connection mid-frame, and servers that misbehave in the closing handshake (RFC 6455 §7).
/// A lost connection is a <see cref="WebSocketConnectionException"/>; a closing handshake never waits past the close timeout.
/// </summary>
[Collection(HostileServerGroup.Name)]
public sealed class HostileConnectionTests
{
    // A 16-bit length frame header cut after its first length byte.
    private static readonly byte[] HalfHeader = ServerFrames.Header(ServerFrames.OpBinary, 1000)[..3];

    private static readonly byte[] HalfPayload = ServerFrames.Concat(ServerFrames.Header(ServerFrames.OpBinary, 1000), new byte[400]);

    [Fact]
    public void TCP_close_in_the_middle_of_a_frame_header_is_a_connection_error() =>
        AssertConnectionLost(HalfHeader, ScriptStep.CloseTcp());

    [Fact]
    public void TCP_close_in_the_middle_of_a_payload_is_a_connection_error() =>
        AssertConnectionLost(HalfPayload, ScriptStep.CloseTcp());

    [Fact]
    public void TCP_reset_in_the_middle_of_a_frame_header_is_a_connection_error() =>
        AssertConnectionLost(HalfHeader, ScriptStep.ResetTcp());

    [Fact]
    public void TCP_reset_in_the_middle_of_a_payload_is_a_connection_error() =>
        AssertConnectionLost(HalfPayload, ScriptStep.ResetTcp());

    [Fact]
    public void Silence_after_the_server_close_frame_ends_at_the_close_timeout()
    {
        int loops = SidecarLoop.LiveLoops;
        var pool = new SidecarBufferPool();
        // The server starts the close, gets our answer, and then never closes TCP.
        using var server = ScriptedAfterHandshake(
            ScriptStep.SendRaw(ServerFrames.Close(1001, "going")),
            ScriptStep.ExpectClose(1001),
            ScriptStep.StaySilent());
        var ws = SidecarWebSocket.Connect(server.Uri, Options(pool));
        var connection = server.WaitForConnection(Generous);
        Assert.NotNull(connection.WaitForFrame(f => f.Opcode == ServerFrames.OpClose, Generous));
        var clock = Clock();

        ShutdownReport report = ws.Exit();

        AssertWithin(clock.Elapsed, CloseTimeout, "Exit after the server went silent");
        Assert.Equal(WebSocketCloseCode.EndpointUnavailable, report.CloseCode);
        Assert.Equal("going", report.CloseReason);
        Assert.True(report.ThreadJoined);
        connection.AssertScriptSucceeded(Generous);
        Assert.True(connection.WaitForClientTcpClose(Generous), connection.Describe());
        ClientFrame answer = Assert.Single(connection.Frames);
        Assert.True(answer.Masked);
        AssertNoLeaks(pool, loops);
    }

    [Fact]
    public void Receive_after_the_server_close_frame_and_silence_throws_the_close_status_by_the_close_timeout()
    {
        int loops = SidecarLoop.LiveLoops;
        var pool = new SidecarBufferPool();
        using var server = ScriptedAfterHandshake(
            ScriptStep.SendRaw(ServerFrames.Close(4002, "bye")),
            ScriptStep.ExpectClose(4002),
            ScriptStep.StaySilent());
        var ws = SidecarWebSocket.Connect(server.Uri, Options(pool));
        var clock = Clock();

        var closed = Assert.Throws<WebSocketClosedException>(() => ws.Receive(Generous));

        AssertWithin(clock.Elapsed, CloseTimeout, "giving up on the server's TCP close");
        Assert.Equal((WebSocketCloseCode)4002, closed.CloseCode);
        Assert.Equal("bye", closed.CloseReason);
        ShutdownReport report = ws.Exit();
        Assert.Equal(ShutdownOutcome.Skipped, report.Steps[1].Outcome);
        Assert.True(server.WaitForConnection(Generous).WaitForClientTcpClose(Generous));
        AssertNoLeaks(pool, loops);
    }

    [Fact]
    public void Data_after_the_server_close_frame_is_ignored_and_the_close_code_reported()
    {
        int loops = SidecarLoop.LiveLoops;
        var pool = new SidecarBufferPool();
        using var server = ScriptedAfterHandshake(
            ScriptStep.SendRaw(ServerFrames.Concat(
                ServerFrames.Text("before"),
                ServerFrames.Close(4001, "done"),
                ServerFrames.Text("ghost"),
                [0xFF, 0xFF, 0xFF, 0xFF])),
            ScriptStep.ExpectClose(4001),
            ScriptStep.CloseTcp());
        var ws = SidecarWebSocket.Connect(server.Uri, Options(pool));

        using (ReceivedMessage before = ws.Receive(Generous))
        {
            Assert.Equal("before", before.GetText());
        }

        var closed = Assert.Throws<WebSocketClosedException>(() => ws.Receive(Generous));
        Assert.Equal((WebSocketCloseCode)4001, closed.CloseCode);
        Assert.Equal("done", closed.CloseReason);
        ShutdownReport report = ws.Exit();
        Assert.Equal((WebSocketCloseCode)4001, report.CloseCode);
        Assert.Equal(CloseInitiator.Peer, report.CloseInitiator);
        Assert.Equal(1, report.MessagesReceived);
        var connection = server.WaitForConnection(Generous);
        connection.AssertScriptSucceeded(Generous);
        Assert.True(connection.WaitForClientTcpClose(Generous));
        Assert.Single(connection.Frames);
        AssertNoLeaks(pool, loops);
    }

    [Fact]
    public void A_server_that_answers_our_close_but_never_closes_TCP_is_dropped_at_the_close_timeout()
    {
        int loops = SidecarLoop.LiveLoops;
        var pool = new SidecarBufferPool();
        using var server = ScriptedAfterHandshake(
            ScriptStep.ExpectClose(1000),
            ScriptStep.SendRaw(ServerFrames.Close(1000)),
            ScriptStep.StaySilent());
        var ws = SidecarWebSocket.Connect(server.Uri, Options(pool));
        var clock = Clock();

        ShutdownReport report = ws.Exit();

        AssertWithin(clock.Elapsed, CloseTimeout, "Exit with a server holding TCP open");
        Assert.NotEqual(ShutdownOutcome.Failed, report.Steps[1].Outcome);
        Assert.Equal(WebSocketCloseCode.NormalClosure, report.CloseCode);
        Assert.Equal(CloseInitiator.Application, report.CloseInitiator);
        Assert.True(report.ThreadJoined);
        var connection = server.WaitForConnection(Generous);
        connection.AssertScriptSucceeded(Generous);
        Assert.True(connection.WaitForClientTcpClose(Generous), connection.Describe());
        AssertNoLeaks(pool, loops);
    }

    [Fact]
    public void A_server_that_never_answers_our_close_times_out_at_the_close_timeout()
    {
        int loops = SidecarLoop.LiveLoops;
        var pool = new SidecarBufferPool();
        using var server = ScriptedAfterHandshake(ScriptStep.ExpectClose(1000), ScriptStep.StaySilent());
        var ws = SidecarWebSocket.Connect(server.Uri, Options(pool));
        ws.Send("queued before exit"u8, MessageType.Text);
        var clock = Clock();

        ShutdownReport report = ws.Exit();

        AssertWithin(clock.Elapsed, CloseTimeout, "Exit with a silent server");
        Assert.Equal(ShutdownOutcome.TimedOut, report.Steps[1].Outcome);
        Assert.True(report.Steps[1].Duration >= CloseTimeout - TimeSpan.FromMilliseconds(50), report.ToString());
        Assert.Equal(1, report.MessagesSent);
        Assert.Equal(0, report.MessagesNotSent);
        Assert.True(report.ThreadJoined);
        var connection = server.WaitForConnection(Generous);
        Assert.True(connection.WaitForClientTcpClose(Generous), connection.Describe());
        Assert.Equal("queued before exit", connection.Frames[0].Text);
        Assert.Equal((ushort)1000, connection.Frames[1].CloseCode);
        AssertNoLeaks(pool, loops);
    }

    private static void AssertConnectionLost(byte[] partial, ScriptStep end)
    {
        int loops = SidecarLoop.LiveLoops;
        var pool = new SidecarBufferPool();
        using var server = ScriptedAfterHandshake(
            ScriptStep.SendRaw(ServerFrames.Text("good")),
            ScriptStep.SendRaw(partial),
            ScriptStep.Delay(TimeSpan.FromMilliseconds(50)),
            end);
        var ws = SidecarWebSocket.Connect(server.Uri, Options(pool));
        var clock = Clock();

        using (ReceivedMessage good = ws.Receive(Generous))
        {
            Assert.Equal("good", good.GetText());
        }

        Assert.Throws<WebSocketConnectionException>(() => ws.Receive(Generous));
        AssertWithin(clock.Elapsed, TimeSpan.Zero, "noticing the lost connection");
        ShutdownReport report = ws.Exit();
        Assert.Equal(ShutdownOutcome.Skipped, report.Steps[1].Outcome);
        Assert.IsType<WebSocketConnectionException>(report.Fault);
        Assert.True(report.ThreadJoined);
        var connection = server.WaitForConnection(Generous);
        connection.AssertScriptSucceeded(Generous);
        // No close frame can follow a lost connection; 1006 is never sent on the wire.
        Assert.DoesNotContain(connection.Frames, f => f.Opcode == ServerFrames.OpClose);
        AssertNoLeaks(pool, loops);
    }
}
