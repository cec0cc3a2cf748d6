using System.Text;
using FastSidecar.Buffers;
using FastSidecar.Tests.Peers;

namespace FastSidecar.Tests.Conformance;

/// <summary>
/// Client behaviour the RFC requires, each test tied to a bug found by the conformance server and reproduced here
/// with a scripted server, so the suite stands alone.
/// </summary>
public sealed class ClientConformanceTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);

    /// <summary>A 101 response for the captured key followed, in the same write, by <paramref name="frames"/>.</summary>
    private static ScriptStep SendHandshakeResponseWith(params byte[][] frames) =>
        ScriptStep.Custom("send the 101 response and frames in one write", c =>
        {
            string head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "
                + ScriptedServer.ComputeAccept(c.Connection.SecWebSocketKey!) + "\r\n\r\n";
            c.Send(ServerFrames.Concat([Encoding.ASCII.GetBytes(head), .. frames]));
        });

    [Fact]
    public void Frames_and_a_close_arriving_with_the_handshake_response_are_read()
    {
        var pool = new SidecarBufferPool();
        using var server = new ScriptedServer(
            ScriptStep.ReadHandshakeRequest(),
            SendHandshakeResponseWith(ServerFrames.Text("301"), ServerFrames.Close(1000)),
            ScriptStep.ExpectClose(1000),
            ScriptStep.CloseTcp());
        using (var ws = SidecarWebSocket.Connect(server.Uri, new SidecarOptions { BufferPool = pool }))
        {
            using (ReceivedMessage message = ws.Receive(Generous))
            {
                Assert.Equal("301", message.GetText());
            }

            var closed = Assert.Throws<WebSocketClosedException>(() => ws.Receive(Generous));
            Assert.Equal(WebSocketCloseCode.NormalClosure, closed.CloseCode);
        }

        server.WaitForConnection(Generous).AssertScriptSucceeded(Generous);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Frames_left_in_the_input_when_the_receive_queue_filled_are_read_after_it_drains()
    {
        const int Messages = 8;
        var pool = new SidecarBufferPool();
        using var server = new ScriptedServer(
            ScriptStep.ReadHandshakeRequest(),
            ScriptStep.SendValidHandshakeResponse(),
            ScriptStep.SendRaw(ServerFrames.Concat([.. Enumerable.Range(0, Messages).Select(i => ServerFrames.Text($"m{i}"))])),
            ScriptStep.ExpectClose(1000),
            ScriptStep.SendRaw(ServerFrames.Close(1000)),
            ScriptStep.CloseTcp());
        using (var ws = SidecarWebSocket.Connect(server.Uri, new SidecarOptions { BufferPool = pool, ReceiveQueueCapacity = 2 }))
        {
            // Let the queue fill, so the loop pauses with the rest of the burst still in its input.
            Assert.True(SpinWait.SpinUntil(() => ws.PendingReceiveCount == 2, Generous));
            for (int i = 0; i < Messages; i++)
            {
                using ReceivedMessage message = ws.Receive(Generous);
                Assert.Equal($"m{i}", message.GetText());
            }

            Assert.Equal(WebSocketCloseCode.NormalClosure, ws.Exit().CloseCode);
        }

        server.WaitForConnection(Generous).AssertScriptSucceeded(Generous);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void A_close_frame_without_a_code_is_answered_with_an_empty_close_frame()
    {
        var pool = new SidecarBufferPool();
        using var server = new ScriptedServer(
            ScriptStep.ReadHandshakeRequest(),
            ScriptStep.SendValidHandshakeResponse(),
            ScriptStep.ExpectFrame("a text frame", f => f.Opcode == ServerFrames.OpText),
            ScriptStep.SendRaw(ServerFrames.CloseEmpty()),
            ScriptStep.ExpectFrame("an empty masked close frame", f => f.Opcode == ServerFrames.OpClose && f.Masked && f.Payload.Length == 0),
            ScriptStep.CloseTcp());
        using (var ws = SidecarWebSocket.Connect(server.Uri, new SidecarOptions { BufferPool = pool }))
        {
            ws.Send("go"u8, MessageType.Text);
            var closed = Assert.Throws<WebSocketClosedException>(() => ws.Receive(Generous));
            Assert.Equal(WebSocketCloseCode.Empty, closed.CloseCode);
        }

        server.WaitForConnection(Generous).AssertScriptSucceeded(Generous);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Connect_returns_when_the_peer_closes_right_after_the_handshake_and_its_message_stays_readable()
    {
        // The race between the loop closing and the connecting thread looking is tight: many rounds make it show.
        const int Rounds = 30;
        var pool = new SidecarBufferPool();
        using var server = new ScriptedServer(
            [
                ScriptStep.ReadHandshakeRequest(),
                SendHandshakeResponseWith(ServerFrames.Text("7"), ServerFrames.Close(1000)),
                ScriptStep.CloseTcp(),
            ],
            acceptEveryConnection: true);
        for (int round = 0; round < Rounds; round++)
        {
            using var ws = SidecarWebSocket.Connect(server.Uri, new SidecarOptions { BufferPool = pool });
            using (ReceivedMessage message = ws.Receive(Generous))
            {
                Assert.Equal("7", message.GetText());
            }

            var closed = Assert.Throws<WebSocketClosedException>(() => ws.Receive(Generous));
            Assert.Equal(WebSocketCloseCode.NormalClosure, closed.CloseCode);
        }

        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void A_violation_behind_a_message_fails_the_connection_after_the_application_answered_that_message()
    {
        var pool = new SidecarBufferPool();
        using var server = new ScriptedServer(
            ScriptStep.ReadHandshakeRequest(),
            ScriptStep.SendValidHandshakeResponse(),
            // RFC 6455 §5.2: RSV2 set with no extension negotiated; the ping behind it must go unanswered.
            ScriptStep.SendRaw(ServerFrames.Concat(ServerFrames.Text("first"),
                ServerFrames.Frame(ServerFrames.OpText, "first"u8, rsv: 2), ServerFrames.Ping("p"u8))),
            ScriptStep.ExpectFrame("the echo of the message before the violation", f => f.Opcode == ServerFrames.OpText && f.Text == "first"),
            ScriptStep.ExpectClose(1002),
            ScriptStep.CloseTcp());
        using (var ws = SidecarWebSocket.Connect(server.Uri, new SidecarOptions { BufferPool = pool }))
        {
            // The message and the violation's place in the receive order are both queued before the application looks.
            Assert.True(SpinWait.SpinUntil(() => ws.PendingReceiveCount == 2, Generous));
            using (ReceivedMessage message = ws.Receive(Generous))
            {
                ws.Send(message.Span, message.Type);
            }

            var violation = Assert.Throws<WebSocketProtocolException>(() => ws.Receive(Generous));
            Assert.Equal(WebSocketCloseCode.ProtocolError, violation.CloseCode);
        }

        var connection = server.WaitForConnection(Generous);
        connection.AssertScriptSucceeded(Generous);
        Assert.DoesNotContain(connection.Frames, f => f.Opcode == ServerFrames.OpPong);
        Assert.Equal(0, pool.Outstanding);
    }
}
