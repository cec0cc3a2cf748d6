using System.Net.WebSockets;
using System.Text;

namespace FastSidecar.Tests.Peers;

/// <summary>
/// Checks the peers themselves with the BCL's <see cref="ClientWebSocket"/>, an independent client known to be correct,
/// so that a later interop failure points at the library, not at the test infrastructure.
/// </summary>
public abstract class EchoPeerSelfTests<TPeer>
    where TPeer : IEchoPeer
{
    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(60);

    protected EchoPeerSelfTests(TPeer peer) => Peer = peer;

    protected TPeer Peer { get; }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(125)]
    [InlineData(126)]
    [InlineData(65535)]
    [InlineData(65536)]
    [InlineData(1 << 20)]
    public async Task Echoes_binary_messages_byte_exact(int size)
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        using var ws = await ConnectAsync(cts.Token);
        var payload = new byte[size];
        new Random(size).NextBytes(payload);

        await ws.SendAsync(payload, WebSocketMessageType.Binary, endOfMessage: true, cts.Token);
        var (type, data, _) = await ReceiveMessageAsync(ws, cts.Token);

        Assert.Equal(WebSocketMessageType.Binary, type);
        Assert.Equal(payload, data);
        await CloseAsync(ws, cts.Token);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(125)]
    [InlineData(126)]
    [InlineData(65535)]
    [InlineData(65536)]
    [InlineData(1 << 20)]
    public async Task Echoes_text_messages_byte_exact(int size)
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        using var ws = await ConnectAsync(cts.Token);
        var random = new Random(size);
        var payload = new byte[size];
        for (var i = 0; i < size; i++)
        {
            payload[i] = (byte)random.Next('a', 'z' + 1);
        }

        await ws.SendAsync(payload, WebSocketMessageType.Text, endOfMessage: true, cts.Token);
        var (type, data, _) = await ReceiveMessageAsync(ws, cts.Token);

        Assert.Equal(WebSocketMessageType.Text, type);
        Assert.Equal(payload, data);
        await CloseAsync(ws, cts.Token);
    }

    [Fact]
    public async Task Fragment_command_splits_the_next_echo_into_several_frames()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        using var ws = await ConnectAsync(cts.Token);
        var payload = new byte[3000];
        new Random(3).NextBytes(payload);

        await SendTextAsync(ws, EchoProtocol.Fragment(3), cts.Token);
        await ws.SendAsync(payload, WebSocketMessageType.Binary, endOfMessage: true, cts.Token);
        var (type, data, frames) = await ReceiveMessageAsync(ws, cts.Token);

        Assert.Equal(WebSocketMessageType.Binary, type);
        Assert.Equal(payload, data);
        // ClientWebSocket never merges frames into one receive, so more receives than one means more frames than one.
        Assert.True(frames >= 2, $"{Peer.Name}: expected a fragmented message, got {frames} receive(s)");

        // Only the next message is fragmented.
        await ws.SendAsync(payload, WebSocketMessageType.Binary, endOfMessage: true, cts.Token);
        var (_, again, _) = await ReceiveMessageAsync(ws, cts.Token);
        Assert.Equal(payload, again);
        await CloseAsync(ws, cts.Token);
    }

    [Fact]
    public async Task Fragmented_text_with_multibyte_characters_arrives_intact()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        using var ws = await ConnectAsync(cts.Token);
        var text = string.Concat(Enumerable.Repeat("h\u00e9llo w\u00f6rld \u2713 \U0001F600 ", 40));

        await SendTextAsync(ws, EchoProtocol.Fragment(7), cts.Token);
        await SendTextAsync(ws, text, cts.Token);
        var (type, data, frames) = await ReceiveMessageAsync(ws, cts.Token);

        Assert.Equal(WebSocketMessageType.Text, type);
        Assert.Equal(text, Encoding.UTF8.GetString(data));
        Assert.True(frames >= 2, $"{Peer.Name}: expected a fragmented message, got {frames} receive(s)");
        await CloseAsync(ws, cts.Token);
    }

    [Fact]
    public async Task Ping_command_sends_a_ping_and_reports_the_pong_or_is_echoed()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        using var ws = await ConnectAsync(cts.Token);

        await SendTextAsync(ws, EchoProtocol.Ping("hello"), cts.Token);
        var (type, data, _) = await ReceiveMessageAsync(ws, cts.Token);

        Assert.Equal(WebSocketMessageType.Text, type);
        // ClientWebSocket answers pings on its own; the peer reports the pong it got back.
        var expected = Peer.SupportsServerPing ? EchoProtocol.PongReport("hello") : EchoProtocol.Ping("hello");
        Assert.Equal(expected, Encoding.UTF8.GetString(data));
        await CloseAsync(ws, cts.Token);
    }

    [Theory]
    [InlineData(1000, "bye")]
    [InlineData(4000, "application says stop")]
    public async Task Close_command_makes_the_peer_close_with_that_status(int code, string reason)
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        using var ws = await ConnectAsync(cts.Token);

        await SendTextAsync(ws, EchoProtocol.Close(code, reason), cts.Token);
        var result = await ws.ReceiveAsync(new byte[256], cts.Token);

        Assert.Equal(WebSocketMessageType.Close, result.MessageType);
        Assert.Equal((WebSocketCloseStatus)code, result.CloseStatus);
        Assert.Equal(reason, result.CloseStatusDescription);
        Assert.Equal(WebSocketState.CloseReceived, ws.State);
        await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, cts.Token);
        Assert.Equal(WebSocketState.Closed, ws.State);
    }

    [Fact]
    public async Task Terminate_command_drops_the_connection_without_a_close_frame()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        using var ws = await ConnectAsync(cts.Token);

        await SendTextAsync(ws, EchoProtocol.Terminate, cts.Token);

        await Assert.ThrowsAsync<WebSocketException>(async () => await ws.ReceiveAsync(new byte[256], cts.Token));
    }

    [Fact]
    public async Task Peer_answers_the_client_close_handshake()
    {
        using var cts = new CancellationTokenSource(TestTimeout);
        using var ws = await ConnectAsync(cts.Token);

        await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", cts.Token);

        Assert.Equal(WebSocketState.Closed, ws.State);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, ws.CloseStatus);
    }

    private async Task<ClientWebSocket> ConnectAsync(CancellationToken ct)
    {
        var ws = new ClientWebSocket();
        ws.Options.KeepAliveInterval = TimeSpan.Zero;
        await ws.ConnectAsync(Peer.Uri, ct);
        return ws;
    }

    private static Task SendTextAsync(ClientWebSocket ws, string text, CancellationToken ct) =>
        ws.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, ct);

    private static async Task CloseAsync(ClientWebSocket ws, CancellationToken ct)
    {
        await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, null, ct);
        Assert.Equal(WebSocketState.Closed, ws.State);
    }

    private async Task<(WebSocketMessageType Type, byte[] Data, int Receives)> ReceiveMessageAsync(ClientWebSocket ws, CancellationToken ct)
    {
        using var data = new MemoryStream();
        var buffer = new byte[256 * 1024];
        var receives = 0;
        while (true)
        {
            var result = await ws.ReceiveAsync(buffer, ct);
            receives++;
            Assert.True(result.MessageType != WebSocketMessageType.Close, $"{Peer.Name} closed: {result.CloseStatus} {result.CloseStatusDescription}");
            data.Write(buffer, 0, result.Count);
            if (result.EndOfMessage)
            {
                return (result.MessageType, data.ToArray(), receives);
            }
        }
    }
}

public sealed class NodeWsPeerSelfTests(NodeWsPeer peer) : EchoPeerSelfTests<NodeWsPeer>(peer), IClassFixture<NodeWsPeer>
{
    [Fact]
    public void Process_is_running_and_listening()
    {
        Assert.False(Peer.Process.HasExited, Peer.Process.Output);
        Assert.True(Peer.Port > 0);
    }
}

public sealed class PythonWebSocketsPeerSelfTests(PythonWebSocketsPeer peer) : EchoPeerSelfTests<PythonWebSocketsPeer>(peer), IClassFixture<PythonWebSocketsPeer>
{
    [Fact]
    public void Process_is_running_and_listening()
    {
        Assert.False(Peer.Process.HasExited, Peer.Process.Output);
        Assert.True(Peer.Port > 0);
    }
}

public sealed class KestrelEchoPeerSelfTests(KestrelEchoPeer peer) : EchoPeerSelfTests<KestrelEchoPeer>(peer), IClassFixture<KestrelEchoPeer>;

public sealed class PeerProcessTests
{
    [Fact]
    public void Dispose_kills_the_peer_process()
    {
        var peer = NodeWsPeer.StartProcess();
        var pid = peer.ProcessId;
        peer.Dispose();

        Assert.Throws<ArgumentException>(() => System.Diagnostics.Process.GetProcessById(pid));
    }

    [Fact]
    public void A_missing_runtime_fails_with_a_message_naming_test_sh()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => PeerProcess.Start("absent", "/nonexistent/runtime-for-test", []));
        Assert.Contains("./test.sh", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_peer_exiting_with_the_missing_package_code_fails_with_a_message_naming_test_sh()
    {
        var ex = Assert.Throws<InvalidOperationException>(() =>
            PeerProcess.Start("missing package", "/bin/sh", ["-c", "echo 'PEER-MISSING x' >&2; exit 3"]));
        Assert.Contains("./test.sh", ex.Message, StringComparison.Ordinal);
        Assert.Contains("PEER-MISSING", ex.Message, StringComparison.Ordinal);
    }
}

public sealed class ScriptedServerSelfTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Handshake_then_a_scripted_text_frame_reaches_ClientWebSocket()
    {
        using var server = new ScriptedServer(
            ScriptStep.ReadHandshakeRequest(),
            ScriptStep.SendValidHandshakeResponse(),
            ScriptStep.SendRaw(ServerFrames.Text("hello from the script")),
            ScriptStep.ExpectClose(1000),
            ScriptStep.SendRaw(ServerFrames.Close(1000)),
            ScriptStep.CloseTcp());
        using var cts = new CancellationTokenSource(Timeout);
        using var ws = new ClientWebSocket();

        await ws.ConnectAsync(server.Uri, cts.Token);
        var buffer = new byte[1024];
        var result = await ws.ReceiveAsync(buffer, cts.Token);
        Assert.Equal(WebSocketMessageType.Text, result.MessageType);
        Assert.True(result.EndOfMessage);
        Assert.Equal("hello from the script", Encoding.UTF8.GetString(buffer, 0, result.Count));
        await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "ok", cts.Token);

        var connection = server.WaitForConnection(Timeout);
        connection.AssertScriptSucceeded(Timeout);
        Assert.Equal("websocket", connection.RequestHeaders["Upgrade"], ignoreCase: true);
        Assert.NotNull(connection.SecWebSocketKey);
        var close = Assert.Single(connection.Frames);
        Assert.True(close.Masked);
        Assert.Equal((ushort)1000, close.CloseCode);
        Assert.Equal("ok", close.CloseReason);
        Assert.True(connection.WaitForClientTcpClose(Timeout), connection.Describe());
    }

    [Fact]
    public async Task Trickled_frames_and_every_length_encoding_are_parsed_both_ways()
    {
        var sizes = new[] { 0, 125, 126, 65535, 65536, 70000 };
        var steps = new List<ScriptStep> { ScriptStep.ReadHandshakeRequest(), ScriptStep.SendValidHandshakeResponse() };
        foreach (var size in sizes)
        {
            steps.Add(ScriptStep.ExpectFrame($"a masked binary frame of {size} bytes", f =>
                f.Opcode == ServerFrames.OpBinary && f.Fin && f.Masked && f.Rsv == 0 && f.Payload.Span.SequenceEqual(Pattern(size))));
        }

        // The client's frames are echoed back a byte or a few at a time, split inside headers.
        steps.Add(ScriptStep.SendRawTrickle(ServerFrames.Binary(Pattern(300)), 1, TimeSpan.Zero));
        steps.Add(ScriptStep.SendRawTrickle(ServerFrames.Binary(Pattern(70000)), 4096, TimeSpan.FromMilliseconds(1)));
        steps.Add(ScriptStep.SendRaw(ServerFrames.Frame(ServerFrames.OpBinary, Pattern(10), lengthEncoding: 127)));
        steps.Add(ScriptStep.StaySilent());
        using var server = new ScriptedServer(steps);
        using var cts = new CancellationTokenSource(Timeout);
        using var ws = new ClientWebSocket();

        await ws.ConnectAsync(server.Uri, cts.Token);
        foreach (var size in sizes)
        {
            await ws.SendAsync(Pattern(size), WebSocketMessageType.Binary, endOfMessage: true, cts.Token);
        }

        foreach (var size in new[] { 300, 70000, 10 })
        {
            using var message = new MemoryStream();
            var buffer = new byte[8192];
            WebSocketReceiveResult result;
            do
            {
                result = await ws.ReceiveAsync(buffer, cts.Token);
                message.Write(buffer, 0, result.Count);
            }
            while (!result.EndOfMessage);
            Assert.Equal(Pattern(size), message.ToArray());
        }

        var connection = server.WaitForConnection(Timeout);
        connection.AssertScriptSucceeded(Timeout);
        Assert.Equal(sizes.Length, connection.Frames.Count);
    }

    [Fact]
    public async Task ResetTcp_makes_the_ClientWebSocket_receive_fail()
    {
        using var server = new ScriptedServer(
            ScriptStep.ReadHandshakeRequest(),
            ScriptStep.SendValidHandshakeResponse(),
            ScriptStep.ExpectFrame("a text frame", f => f.Opcode == ServerFrames.OpText && f.Text == "go"),
            ScriptStep.ResetTcp());
        using var cts = new CancellationTokenSource(Timeout);
        using var ws = new ClientWebSocket();

        await ws.ConnectAsync(server.Uri, cts.Token);
        await ws.SendAsync("go"u8.ToArray(), WebSocketMessageType.Text, endOfMessage: true, cts.Token);

        await Assert.ThrowsAsync<WebSocketException>(async () => await ws.ReceiveAsync(new byte[64], cts.Token));
        var connection = server.WaitForConnection(Timeout);
        connection.AssertScriptSucceeded(Timeout);
        Assert.True(connection.ServerClosedTcp);
    }

    [Fact]
    public async Task Silent_server_records_the_client_close_frame_then_its_TCP_close()
    {
        using var server = new ScriptedServer(
            ScriptStep.ReadHandshakeRequest(),
            ScriptStep.SendValidHandshakeResponse(),
            ScriptStep.StaySilent());
        using var cts = new CancellationTokenSource(Timeout);
        var ws = new ClientWebSocket();

        await ws.ConnectAsync(server.Uri, cts.Token);
        await ws.CloseOutputAsync(WebSocketCloseStatus.ProtocolError, "bad", cts.Token);
        ws.Abort();
        ws.Dispose();

        var connection = server.WaitForConnection(Timeout);
        Assert.True(connection.WaitForClientTcpClose(Timeout), connection.Describe());
        var close = Assert.Single(connection.Frames);
        Assert.Equal((ushort)1002, close.CloseCode);
        Assert.True(close.ReceivedAfter <= connection.ClientClosedTcpAfter);
        Assert.Null(connection.Failure);
    }

    [Fact]
    public async Task A_failed_expectation_is_reported_with_what_the_client_sent()
    {
        using var server = new ScriptedServer(
            ScriptStep.ReadHandshakeRequest(),
            ScriptStep.SendValidHandshakeResponse(),
            ScriptStep.ExpectFrame("a ping", f => f.Opcode == ServerFrames.OpPing));
        using var cts = new CancellationTokenSource(Timeout);
        using var ws = new ClientWebSocket();

        await ws.ConnectAsync(server.Uri, cts.Token);
        await ws.SendAsync("not a ping"u8.ToArray(), WebSocketMessageType.Text, endOfMessage: true, cts.Token);

        var connection = server.WaitForConnection(Timeout);
        var ex = Assert.ThrowsAny<Exception>(() => connection.AssertScriptSucceeded(Timeout));
        Assert.Contains("expect a ping", ex.Message, StringComparison.Ordinal);
        Assert.Contains("op=1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Single_connection_server_refuses_a_second_connection()
    {
        using var server = new ScriptedServer(ScriptStep.ReadHandshakeRequest(), ScriptStep.SendValidHandshakeResponse(), ScriptStep.StaySilent());
        using var cts = new CancellationTokenSource(Timeout);
        using var first = new ClientWebSocket();
        await first.ConnectAsync(server.Uri, cts.Token);
        server.WaitForConnection(Timeout);

        using var second = new ClientWebSocket();
        await Assert.ThrowsAsync<WebSocketException>(() => second.ConnectAsync(server.Uri, cts.Token));
    }

    [Fact]
    public async Task Every_connection_runs_the_script_when_asked()
    {
        using var server = new ScriptedServer(
            [
                ScriptStep.ReadHandshakeRequest(),
                ScriptStep.SendValidHandshakeResponse(),
                ScriptStep.SendRaw(ServerFrames.Close(1001, "going")),
                ScriptStep.ExpectClose(),
                // A server closes TCP first after the close handshake; without it ClientWebSocket waits a second for the FIN.
                ScriptStep.CloseTcp(),
            ],
            acceptEveryConnection: true);
        using var cts = new CancellationTokenSource(Timeout);
        for (var i = 0; i < 3; i++)
        {
            using var ws = new ClientWebSocket();
            await ws.ConnectAsync(server.Uri, cts.Token);
            var result = await ws.ReceiveAsync(new byte[64], cts.Token);
            Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, result.CloseStatus);
            await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, cts.Token);
        }

        Assert.Equal(3, server.Connections.Count);
        foreach (var connection in server.Connections)
        {
            connection.AssertScriptSucceeded(Timeout);
            Assert.Equal((ushort)1000, connection.WaitForFrame(f => f.Opcode == ServerFrames.OpClose, Timeout)?.CloseCode);
            Assert.True(connection.WaitForClientTcpClose(Timeout), connection.Describe());
        }
    }

    private static byte[] Pattern(int size)
    {
        var bytes = new byte[size];
        for (var i = 0; i < size; i++)
        {
            bytes[i] = (byte)(i * 31 + 7);
        }

        return bytes;
    }
}
