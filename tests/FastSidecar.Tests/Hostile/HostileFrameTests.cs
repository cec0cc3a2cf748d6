using FastSidecar.Buffers;
using FastSidecar.Tests.Peers;
using static FastSidecar.Tests.Hostile.HostileServerSupport;

namespace FastSidecar.Tests.Hostile;

/// <summary>
/// Servers that break the framing rules of RFC 6455 §5 after a correct handshake. Each one must fail the connection
/// with the close code the RFC names, sent masked and followed by the TCP close, within the close timeout; the
/// application's next Receive throws <see cref="WebSocketProtocolException"/> carrying that code.
/// </summary>
[Collection(HostileServerGroup.Name)]
public sealed class HostileFrameTests
{
    [Fact]
    public void A_masked_frame_from_the_server_is_a_protocol_error_1002()
    {
        // §5.1: "A client MUST close a connection if it detects a masked frame."
        AssertFailsWith(ServerFrames.Frame(ServerFrames.OpText, "hi"u8, masked: true), WebSocketCloseCode.ProtocolError);
    }

    [Theory]
    [InlineData(0b100)]
    [InlineData(0b010)]
    [InlineData(0b001)]
    public void RSV_bits_without_a_negotiated_extension_are_a_protocol_error_1002(byte rsv)
    {
        AssertFailsWith(ServerFrames.Frame(ServerFrames.OpBinary, "x"u8, rsv: rsv), WebSocketCloseCode.ProtocolError);
    }

    [Theory]
    [InlineData(0x3)]
    [InlineData(0x7)]
    [InlineData(0xB)]
    [InlineData(0xF)]
    public void A_reserved_opcode_is_a_protocol_error_1002(byte opcode)
    {
        AssertFailsWith(ServerFrames.Frame(opcode, "x"u8), WebSocketCloseCode.ProtocolError);
    }

    [Fact]
    public void A_fragmented_control_frame_is_a_protocol_error_1002()
    {
        // §5.5: "All control frames ... MUST NOT be fragmented."
        AssertFailsWith(ServerFrames.Frame(ServerFrames.OpPing, "x"u8, fin: false), WebSocketCloseCode.ProtocolError);
    }

    [Fact]
    public void A_control_frame_over_125_bytes_is_a_protocol_error_1002()
    {
        AssertFailsWith(ServerFrames.Ping(new byte[126]), WebSocketCloseCode.ProtocolError);
    }

    [Fact]
    public void Invalid_UTF8_split_across_text_fragments_is_1007()
    {
        // Each fragment alone could be the start of valid text; E2 82 followed by 28 cannot (§8.1).
        byte[] frames = ServerFrames.Concat(
            ServerFrames.Frame(ServerFrames.OpText, [(byte)'o', (byte)'k', 0xE2, 0x82], fin: false),
            ServerFrames.Continuation([0x28, (byte)'!'], fin: true));
        AssertFailsWith(frames, WebSocketCloseCode.InvalidPayloadData);
    }

    [Fact]
    public void A_message_announced_above_MaxMessageSize_is_1009_without_allocating_it()
    {
        const long Max = 1 << 20;
        const long Announced = 512L << 20;
        // Only the header and a little payload: a client that trusted the length would rent 512 MiB before reading on.
        byte[] frame = ServerFrames.Concat(ServerFrames.Header(ServerFrames.OpBinary, Announced), new byte[100]);
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);

        SidecarBufferPool pool = AssertFailsWith(frame, WebSocketCloseCode.MessageTooBig, maxMessageSize: Max);

        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        Assert.True(allocated < 64L << 20, $"{allocated} bytes allocated while refusing a {Announced}-byte message");
        Assert.True(pool.TotalRentals < 64, $"{pool.TotalRentals} rentals");
    }

    [Fact]
    public void Fragments_adding_up_above_MaxMessageSize_are_1009()
    {
        const int Max = 64 * 1024;
        byte[] frames = ServerFrames.Concat(
            ServerFrames.Binary(new byte[40 * 1024], fin: false),
            ServerFrames.Continuation(new byte[40 * 1024], fin: true));
        AssertFailsWith(frames, WebSocketCloseCode.MessageTooBig, maxMessageSize: Max);
    }

    [Fact]
    public void A_valid_64_KiB_message_trickled_one_byte_at_a_time_arrives_intact()
    {
        int loops = SidecarLoop.LiveLoops;
        var pool = new SidecarBufferPool();
        byte[] payload = new byte[64 * 1024];
        new Random(64).NextBytes(payload);
        using var server = ScriptedAfterHandshake(
            ScriptStep.SendRawTrickle(ServerFrames.Binary(payload), chunkSize: 1, TimeSpan.Zero),
            ScriptStep.SendRaw(ServerFrames.Text("after")),
            ScriptStep.ExpectClose(1000),
            ScriptStep.SendRaw(ServerFrames.Close(1000)),
            ScriptStep.CloseTcp());
        var ws = SidecarWebSocket.Connect(server.Uri, Options(pool));

        using (ReceivedMessage message = ws.Receive(TimeSpan.FromSeconds(60)))
        {
            Assert.Equal(MessageType.Binary, message.Type);
            Assert.True(message.Span.SequenceEqual(payload), "the trickled message differs");
        }

        using (ReceivedMessage next = ws.Receive(Generous))
        {
            Assert.Equal("after", next.GetText());
        }

        ShutdownReport report = ws.Exit();
        Assert.Equal(ShutdownOutcome.Completed, report.Steps[1].Outcome);
        Assert.Equal(WebSocketCloseCode.NormalClosure, report.CloseCode);
        var connection = server.WaitForConnection(Generous);
        connection.AssertScriptSucceeded(Generous);
        AssertNoLeaks(pool, loops);
    }

    /// <summary>
    /// Sends <paramref name="bytes"/> after the handshake and a good message, then checks: the good message is readable
    /// first, Receive then throws the protocol error with <paramref name="code"/>, the wire shows close(code) then the
    /// TCP close, within the close timeout, and nothing leaks.
    /// </summary>
    private static SidecarBufferPool AssertFailsWith(byte[] bytes, WebSocketCloseCode code, long maxMessageSize = 16 << 20)
    {
        int loops = SidecarLoop.LiveLoops;
        var pool = new SidecarBufferPool();
        using var server = ScriptedAfterHandshake(
            ScriptStep.SendRaw(ServerFrames.Text("good")),
            ScriptStep.SendRaw(bytes),
            ScriptStep.ExpectClose((ushort)code),
            ScriptStep.CloseTcp());
        var ws = SidecarWebSocket.Connect(server.Uri, Options(pool, maxMessageSize: maxMessageSize));
        var clock = Clock();

        using (ReceivedMessage good = ws.Receive(Generous))
        {
            Assert.Equal("good", good.GetText());
        }

        var ex = Assert.Throws<WebSocketProtocolException>(() => ws.Receive(Generous));
        AssertWithin(clock.Elapsed, CloseTimeout, "failing the connection");
        Assert.Equal(code, ex.CloseCode);
        // The fault stays: later calls throw the same error.
        Assert.Same(ex, Assert.Throws<WebSocketProtocolException>(() => ws.Send("late"u8)));

        ShutdownReport report = ws.Exit();
        Assert.Equal(ShutdownOutcome.Skipped, report.Steps[1].Outcome);
        Assert.Equal(CloseInitiator.Error, report.CloseInitiator);
        Assert.Same(ex, report.Fault);
        Assert.True(report.ThreadJoined);
        AssertClosedWith(server.WaitForConnection(Generous), (ushort)code);
        AssertNoLeaks(pool, loops);
        return pool;
    }
}
