using System.Buffers;
using System.Text;
using FastSidecar.Protocol.Handshake;

namespace FastSidecar.Tests.Handshake;

public class ClientHandshakeRequestTests
{
    private static readonly KeyValuePair<string, string>[] NoHeaders = [];

    private static string Request(string uri, string[]? protocols = null, KeyValuePair<string, string>[]? headers = null)
    {
        var client = new ClientHandshake(new Uri(uri), protocols ?? [], headers ?? NoHeaders);
        var output = new ArrayBufferWriter<byte>();
        client.WriteRequest(output, "the sample nonce"u8);
        return Encoding.ASCII.GetString(output.WrittenSpan);
    }

    [Fact]
    public void Request_matches_golden_text()
    {
        string request = Request("ws://example.com:8080/chat?room=1", ["chat", "superchat"], [new("Origin", "http://example.com")]);
        Assert.Equal(
            "GET /chat?room=1 HTTP/1.1\r\n" +
            "Host: example.com:8080\r\n" +
            "Upgrade: websocket\r\n" +
            "Connection: Upgrade\r\n" +
            "Sec-WebSocket-Version: 13\r\n" +
            "Sec-WebSocket-Protocol: chat, superchat\r\n" +
            "Origin: http://example.com\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
            request);
    }

    [Theory]
    [InlineData("ws://example.com", "GET / HTTP/1.1", "Host: example.com\r\n")]
    [InlineData("ws://example.com:80/a", "GET /a HTTP/1.1", "Host: example.com\r\n")]
    [InlineData("wss://example.com:443/a", "GET /a HTTP/1.1", "Host: example.com\r\n")]
    [InlineData("wss://example.com:80/", "GET / HTTP/1.1", "Host: example.com:80\r\n")]
    [InlineData("ws://127.0.0.1:9000/x?y", "GET /x?y HTTP/1.1", "Host: 127.0.0.1:9000\r\n")]
    [InlineData("ws://[::1]:9000/", "GET / HTTP/1.1", "Host: [::1]:9000\r\n")]
    [InlineData("ws://bücher.example/ä", "GET /%C3%A4 HTTP/1.1", "Host: xn--bcher-kva.example\r\n")]
    public void Request_line_and_host_follow_the_uri(string uri, string requestLine, string hostLine)
    {
        string request = Request(uri);
        Assert.StartsWith(requestLine + "\r\n", request, StringComparison.Ordinal);
        Assert.Contains(hostLine, request, StringComparison.Ordinal);
    }

    [Fact]
    public void Random_keys_differ_between_requests_and_are_exposed_for_validation()
    {
        var client = new ClientHandshake(new Uri("ws://h/"), [], NoHeaders);
        var first = new ArrayBufferWriter<byte>();
        client.WriteRequest(first);
        byte[] firstKey = client.Key.ToArray();
        var second = new ArrayBufferWriter<byte>();
        client.WriteRequest(second);
        Assert.True(WebSocketAccept.IsValidKey(firstKey));
        Assert.False(client.Key.SequenceEqual(firstKey));
        Assert.Contains("Sec-WebSocket-Key: " + Encoding.ASCII.GetString(client.Key) + "\r\n", Encoding.ASCII.GetString(second.WrittenSpan), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://example.com/")]
    [InlineData("ws://example.com/#frag")]
    public void Uri_that_is_not_a_websocket_uri_is_rejected(string uri)
        => Assert.Throws<ArgumentException>(() => new ClientHandshake(new Uri(uri), [], NoHeaders));

    [Theory]
    [InlineData("Sec-WebSocket-Key")]
    [InlineData("sec-websocket-key")]
    [InlineData("Host")]
    [InlineData("Upgrade")]
    [InlineData("Connection")]
    [InlineData("Sec-WebSocket-Version")]
    [InlineData("Sec-WebSocket-Protocol")]
    [InlineData("Sec-WebSocket-Extensions")]
    [InlineData("Content-Length")]
    [InlineData("Transfer-Encoding")]
    public void Reserved_header_is_rejected(string name)
        => Assert.Throws<ArgumentException>(() => new ClientHandshake(new Uri("ws://h/"), [], [new(name, "x")]));

    [Theory]
    [InlineData("X-Bad Name", "v")]
    [InlineData("X-Bad:Name", "v")]
    [InlineData("", "v")]
    [InlineData("X-Inject", "v\r\nEvil: 1")]
    [InlineData("X-Inject", "v\nEvil: 1")]
    [InlineData("X-Null", "v\0")]
    [InlineData("X-Utf8", "caf\u00e9")]
    public void Header_with_invalid_name_or_value_is_rejected(string name, string value)
        => Assert.Throws<ArgumentException>(() => new ClientHandshake(new Uri("ws://h/"), [], [new(name, value)]));

    [Theory]
    [InlineData("has space")]
    [InlineData("a,b")]
    [InlineData("")]
    public void Subprotocol_that_is_not_a_token_is_rejected(string protocol)
        => Assert.Throws<ArgumentException>(() => new ClientHandshake(new Uri("ws://h/"), [protocol], NoHeaders));

    [Fact]
    public void Duplicate_subprotocol_is_rejected()
        => Assert.Throws<ArgumentException>(() => new ClientHandshake(new Uri("ws://h/"), ["a", "a"], NoHeaders));
}
