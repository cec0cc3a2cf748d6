using System.IO.Compression;
using System.Net.WebSockets;
using FastSidecar.Buffers;
using FastSidecar.Tests.Peers;

namespace FastSidecar.Tests.Conformance;

/// <summary>
/// permessage-deflate through the whole client against a scripted server: a response the client cannot honour, and
/// hostile compressed frames after a good one, each asserting what reaches the wire and the application.
/// </summary>
public sealed class DeflateScriptedServerTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);
    private const byte Rsv1 = 0b_100;

    private static byte[] DeflateTailless(byte[] data)
    {
        using var sink = new MemoryStream();
        using (var deflate = new DeflateStream(sink, CompressionLevel.Optimal, leaveOpen: true))
        {
            deflate.Write(data);
            deflate.Flush();
        }

        return sink.ToArray()[..^4];
    }

    private static SidecarOptions Options(SidecarBufferPool pool, long maxMessageSize = 16 << 20) => new()
    {
        BufferPool = pool,
        Deflate = new WebSocketDeflateOptions(),
        MinimumDeflateSize = 1024,
        MaxMessageSize = maxMessageSize,
    };

    [Fact]
    public void A_response_the_client_cannot_honour_fails_Connect_with_a_handshake_exception()
    {
        var pool = new SidecarBufferPool();
        long before = SidecarDiagnostics.DeflateStatesOutstanding;
        using var server = new ScriptedServer(
            ScriptStep.ReadHandshakeRequest(),
            ScriptStep.SendValidHandshakeResponse(null, "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=16"),
            ScriptStep.ExpectTcpClose());
        var refused = Assert.Throws<WebSocketHandshakeException>(() => SidecarWebSocket.Connect(server.Uri, Options(pool)));
        Assert.Contains("server_max_window_bits", refused.Message, StringComparison.Ordinal);
        server.WaitForConnection(Generous).AssertScriptSucceeded(Generous);
        Assert.Equal("permessage-deflate; client_max_window_bits", server.WaitForConnection(Generous).RequestHeaders["Sec-WebSocket-Extensions"].Trim());
        Assert.Equal(0, pool.Outstanding);
        Assert.Equal(before, SidecarDiagnostics.DeflateStatesOutstanding);
    }

    [Fact]
    public void Large_messages_go_out_compressed_with_RSV1_small_ones_and_the_close_frame_do_not()
    {
        var pool = new SidecarBufferPool();
        byte[] large = new byte[5000];
        Array.Fill(large, (byte)'x');
        byte[]? compressed = null;
        using var server = new ScriptedServer(
            ScriptStep.ReadHandshakeRequest(),
            ScriptStep.SendValidHandshakeResponse(null, "Sec-WebSocket-Extensions: permessage-deflate"),
            ScriptStep.ExpectFrame("small message, uncompressed", f => f.Rsv == 0 && f.Payload.Span.SequenceEqual("tiny"u8)),
            ScriptStep.ExpectFrame("large message, RSV1 and smaller", f =>
            {
                compressed = f.Payload.ToArray();
                return f.Rsv == Rsv1 && f.Fin && f.Payload.Length < 100;
            }),
            ScriptStep.ExpectFrame("close frame, RSV 0", f => f.Opcode == ServerFrames.OpClose && f.Rsv == 0),
            ScriptStep.SendRaw(ServerFrames.Close(1000)),
            ScriptStep.CloseTcp());
        using (var ws = SidecarWebSocket.Connect(server.Uri, Options(pool)))
        {
            ws.Send("tiny"u8, MessageType.Text);
            ws.Send(large, MessageType.Binary);
            Assert.Equal(WebSocketCloseCode.NormalClosure, ws.Exit().CloseCode);
        }

        server.WaitForConnection(Generous).AssertScriptSucceeded(Generous);
        using var inflate = new DeflateStream(new MemoryStream([.. compressed!, 0x00, 0x00, 0xFF, 0xFF]), CompressionMode.Decompress);
        byte[] inflated = new byte[large.Length];
        inflate.ReadExactly(inflated);
        Assert.Equal(large, inflated);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void A_corrupt_compressed_message_fails_the_connection_with_1007()
    {
        var pool = new SidecarBufferPool();
        using var server = new ScriptedServer(
            ScriptStep.ReadHandshakeRequest(),
            ScriptStep.SendValidHandshakeResponse(null, "Sec-WebSocket-Extensions: permessage-deflate"),
            ScriptStep.SendRaw(ServerFrames.Frame(ServerFrames.OpBinary, [0b_0000_0111, 0xFF, 0xFF, 0xFF], rsv: Rsv1)),
            ScriptStep.ExpectClose(1007),
            ScriptStep.CloseTcp());
        using (var ws = SidecarWebSocket.Connect(server.Uri, Options(pool)))
        {
            var failure = Assert.Throws<WebSocketProtocolException>(() => ws.Receive(Generous));
            Assert.Equal(WebSocketCloseCode.InvalidPayloadData, failure.CloseCode);
        }

        server.WaitForConnection(Generous).AssertScriptSucceeded(Generous);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void A_decompression_bomb_fails_with_1009_once_the_inflated_size_passes_the_limit()
    {
        var pool = new SidecarBufferPool();
        byte[] bomb = DeflateTailless(new byte[64 << 20]); // 64 MiB of zeros in about 64 KiB
        using var server = new ScriptedServer(
            ScriptStep.ReadHandshakeRequest(),
            ScriptStep.SendValidHandshakeResponse(null, "Sec-WebSocket-Extensions: permessage-deflate"),
            ScriptStep.SendRaw(ServerFrames.Frame(ServerFrames.OpBinary, bomb, rsv: Rsv1)),
            ScriptStep.ExpectClose(1009),
            ScriptStep.CloseTcp());
        using (var ws = SidecarWebSocket.Connect(server.Uri, Options(pool, maxMessageSize: 1 << 20)))
        {
            var failure = Assert.Throws<WebSocketProtocolException>(() => ws.Receive(Generous));
            Assert.Equal(WebSocketCloseCode.MessageTooBig, failure.CloseCode);
        }

        server.WaitForConnection(Generous).AssertScriptSucceeded(Generous);
        Assert.Equal(0, pool.Outstanding);
    }
}
