using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using FastSidecar.Protocol.Handshake;

namespace FastSidecar.Tests.Handshake;

public class ServerHandshakeTests
{
    private const int Max = 16 * 1024;

    private const string ValidRequest =
        "GET /chat?room=1 HTTP/1.1\r\n" +
        "Host: server.example.com\r\n" +
        "Upgrade: websocket\r\n" +
        "Connection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
        "Sec-WebSocket-Protocol: chat, superchat\r\n" +
        "Sec-WebSocket-Version: 13\r\n" +
        "\r\n";

    private static ServerHandshakeRequest Read(string request)
    {
        var buffer = new ReadOnlySequence<byte>(Encoding.Latin1.GetBytes(request));
        Assert.True(ServerHandshake.TryReadRequest(ref buffer, Max, out ServerHandshakeRequest result));
        Assert.Equal(0, buffer.Length);
        return result;
    }

    private static WebSocketHandshakeException Fails(string request)
    {
        var buffer = new ReadOnlySequence<byte>(Encoding.Latin1.GetBytes(request));
        return Assert.Throws<WebSocketHandshakeException>(() => ServerHandshake.TryReadRequest(ref buffer, Max, out _));
    }

    private static string Without(string header) => string.Join("\r\n", ValidRequest.Split("\r\n").Where(l => !l.StartsWith(header + ":", StringComparison.Ordinal)));

    private static string Replace(string header, string line)
        => string.Join("\r\n", ValidRequest.Split("\r\n").Select(l => l.StartsWith(header + ":", StringComparison.Ordinal) ? line : l));

    [Fact]
    public void Rfc6455_sample_request_is_read()
    {
        ServerHandshakeRequest request = Read(ValidRequest);
        Assert.Equal("/chat?room=1", request.Path);
        Assert.Equal("server.example.com", request.Host);
        Assert.Equal("dGhlIHNhbXBsZSBub25jZQ==", request.Key);
        Assert.Equal(["chat", "superchat"], request.SubProtocols);
    }

    [Fact]
    public void Request_written_by_our_client_is_read_by_our_server_at_every_split()
    {
        var client = new ClientHandshake(new Uri("ws://localhost:5000/feed"), ["a", "b"], [new("Origin", "http://localhost")]);
        var output = new ArrayBufferWriter<byte>();
        client.WriteRequest(output);
        byte[] data = output.WrittenSpan.ToArray();
        for (int at = 0; at <= data.Length; at++)
        {
            ReadOnlySequence<byte> buffer = BufferSegment.SplitAt(data, at);
            Assert.True(ServerHandshake.TryReadRequest(ref buffer, Max, out ServerHandshakeRequest request));
            Assert.Equal("/feed", request.Path);
            Assert.Equal("localhost:5000", request.Host);
            Assert.Equal(Encoding.ASCII.GetString(client.Key), request.Key);
            Assert.Equal(["a", "b"], request.SubProtocols);
        }
    }

    [Fact]
    public void Accept_written_by_our_server_is_accepted_by_our_client()
    {
        var client = new ClientHandshake(new Uri("ws://localhost/"), ["a", "b"], []);
        var requestBytes = new ArrayBufferWriter<byte>();
        client.WriteRequest(requestBytes);
        var requestBuffer = new ReadOnlySequence<byte>(requestBytes.WrittenMemory);
        Assert.True(ServerHandshake.TryReadRequest(ref requestBuffer, Max, out ServerHandshakeRequest request));

        var response = new ArrayBufferWriter<byte>();
        ServerHandshake.WriteAccept(response, request, "b");
        var responseBuffer = new ReadOnlySequence<byte>(response.WrittenMemory);
        Assert.True(client.TryReadResponse(ref responseBuffer, out string? protocol));
        Assert.Equal("b", protocol);
    }

    [Fact]
    public void Accept_matches_golden_text()
    {
        var output = new ArrayBufferWriter<byte>();
        ServerHandshake.WriteAccept(output, Read(ValidRequest), "chat");
        Assert.Equal(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
            Encoding.ASCII.GetString(output.WrittenSpan));
    }

    [Fact]
    public void Accept_with_a_subprotocol_the_client_did_not_offer_is_refused()
        => Assert.Throws<ArgumentException>(() => ServerHandshake.WriteAccept(new ArrayBufferWriter<byte>(), Read(ValidRequest), "other"));

    [Fact]
    public void Incomplete_request_needs_more_data()
    {
        byte[] data = Encoding.ASCII.GetBytes(ValidRequest);
        var buffer = new ReadOnlySequence<byte>(data, 0, data.Length - 1);
        Assert.False(ServerHandshake.TryReadRequest(ref buffer, Max, out _));
        Assert.Equal(data.Length - 1, buffer.Length);
    }

    [Theory]
    [InlineData("POST /chat HTTP/1.1")]
    [InlineData("get /chat HTTP/1.1")]
    [InlineData("GET /chat HTTP/1.0")]
    [InlineData("GET chat HTTP/1.1")]
    [InlineData("GET  HTTP/1.1")]
    [InlineData("GET /a b HTTP/1.1")]
    public void Bad_request_line_fails_with_400(string requestLine)
        => Assert.Equal(400, Fails(requestLine + ValidRequest[ValidRequest.IndexOf("\r\n", StringComparison.Ordinal)..]).StatusCode);

    [Fact]
    public void Missing_host_fails_with_400() => Assert.Equal(400, Fails(Without("Host")).StatusCode);

    [Fact]
    public void Duplicate_host_fails_with_400() => Assert.Equal(400, Fails(Replace("Host", "Host: a\r\nHost: b")).StatusCode);

    [Fact]
    public void Missing_upgrade_fails_with_400() => Assert.Equal(400, Fails(Without("Upgrade")).StatusCode);

    [Fact]
    public void Wrong_upgrade_fails_with_400() => Assert.Equal(400, Fails(Replace("Upgrade", "Upgrade: h2c")).StatusCode);

    [Fact]
    public void Connection_without_upgrade_fails_with_400() => Assert.Equal(400, Fails(Replace("Connection", "Connection: keep-alive")).StatusCode);

    [Fact]
    public void Connection_list_with_upgrade_is_accepted() => Read(Replace("Connection", "Connection: keep-alive, Upgrade"));

    [Theory]
    [InlineData("Sec-WebSocket-Version: 8")]
    [InlineData("Sec-WebSocket-Version: 13, 8")]
    [InlineData("Sec-WebSocket-Version: 13\r\nSec-WebSocket-Version: 13")]
    public void Wrong_version_fails_with_426(string line) => Assert.Equal(426, Fails(Replace("Sec-WebSocket-Version", line)).StatusCode);

    [Fact]
    public void Missing_version_fails_with_426() => Assert.Equal(426, Fails(Without("Sec-WebSocket-Version")).StatusCode);

    [Theory]
    [InlineData("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZSE=")]
    [InlineData("Sec-WebSocket-Key: short")]
    [InlineData("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==")]
    public void Bad_key_fails_with_400(string line) => Assert.Equal(400, Fails(Replace("Sec-WebSocket-Key", line)).StatusCode);

    [Fact]
    public void Missing_key_fails_with_400() => Assert.Equal(400, Fails(Without("Sec-WebSocket-Key")).StatusCode);

    [Fact]
    public void Request_body_fails_with_400() => Assert.Equal(400, Fails(Replace("Host", "Host: h\r\nContent-Length: 5")).StatusCode);

    [Fact]
    public void Oversized_request_fails_with_431()
    {
        var buffer = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(ValidRequest));
        Assert.Equal(431, Assert.Throws<WebSocketHandshakeException>(() => ServerHandshake.TryReadRequest(ref buffer, 64, out _)).StatusCode);
    }

    [Fact]
    public void Bare_lf_request_fails_with_400()
        => Assert.Equal(400, Fails(ValidRequest.Replace("\r\n", "\n", StringComparison.Ordinal)).StatusCode);

    [Fact]
    public async Task Real_ClientWebSocket_handshakes_with_our_server_role_and_exchanges_a_message()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;

        Task<string?> server = ServeOneEchoAsync(listener, timeout.Token);

        using var client = new ClientWebSocket();
        client.Options.AddSubProtocol("fastsidecar.test");
        await client.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/echo?x=1"), timeout.Token);
        Assert.Equal("fastsidecar.test", client.SubProtocol);

        await client.SendAsync("hello"u8.ToArray(), WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
        byte[] receive = new byte[64];
        WebSocketReceiveResult result = await client.ReceiveAsync(receive, timeout.Token);
        Assert.Equal("hello", Encoding.UTF8.GetString(receive, 0, result.Count));
        Assert.True(result.EndOfMessage);

        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", timeout.Token);
        Assert.Equal("/echo?x=1", await server);
    }

    private static async Task<string?> ServeOneEchoAsync(TcpListener listener, CancellationToken cancellationToken)
    {
        using TcpClient connection = await listener.AcceptTcpClientAsync(cancellationToken);
        NetworkStream stream = connection.GetStream();

        byte[] received = new byte[Max];
        int count = 0;
        ServerHandshakeRequest request;
        while (true)
        {
            int n = await stream.ReadAsync(received.AsMemory(count), cancellationToken);
            Assert.NotEqual(0, n);
            count += n;
            var buffer = new ReadOnlySequence<byte>(received, 0, count);
            if (ServerHandshake.TryReadRequest(ref buffer, Max, out request))
            {
                // The client waits for our 101 before it sends a frame, so nothing may follow the header block.
                Assert.Equal(0, buffer.Length);
                break;
            }
        }

        var response = new ArrayBufferWriter<byte>();
        ServerHandshake.WriteAccept(response, request, request.SubProtocols[0]);
        await stream.WriteAsync(response.WrittenMemory, cancellationToken);

        using WebSocket socket = WebSocket.CreateFromStream(stream, isServer: true, request.SubProtocols[0], Timeout.InfiniteTimeSpan);
        byte[] message = new byte[64];
        ValueWebSocketReceiveResult result = await socket.ReceiveAsync(message.AsMemory(), cancellationToken);
        await socket.SendAsync(message.AsMemory(0, result.Count), result.MessageType, result.EndOfMessage, cancellationToken);
        ValueWebSocketReceiveResult close = await socket.ReceiveAsync(message.AsMemory(), cancellationToken);
        Assert.Equal(WebSocketMessageType.Close, close.MessageType);
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", cancellationToken);
        return request.Path;
    }
}
