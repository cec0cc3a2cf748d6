using System.Buffers;
using System.Text;
using FastSidecar.Protocol.Handshake;

namespace FastSidecar.Tests.Handshake;

public class ClientHandshakeResponseTests
{
    // The accept value RFC 6455 §1.3 gives for the key that "the sample nonce" encodes to.
    private const string SampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    private const string Valid =
        "HTTP/1.1 101 Switching Protocols\r\n" +
        "Upgrade: websocket\r\n" +
        "Connection: Upgrade\r\n" +
        "Sec-WebSocket-Accept: " + SampleAccept + "\r\n" +
        "\r\n";

    internal static ClientHandshake NewClient(string[]? protocols = null, int maxHeaderBytes = ClientHandshake.DefaultMaxHeaderBytes)
    {
        var client = new ClientHandshake(new Uri("ws://example.com/chat"), protocols ?? [], [], maxHeaderBytes);
        client.WriteRequest(new ArrayBufferWriter<byte>(), "the sample nonce"u8);
        return client;
    }

    private static WebSocketHandshakeException Fails(string response, string[]? protocols = null)
    {
        ClientHandshake client = NewClient(protocols);
        var buffer = new ReadOnlySequence<byte>(Encoding.Latin1.GetBytes(response));
        return Assert.Throws<WebSocketHandshakeException>(() => client.TryReadResponse(ref buffer, out _));
    }

    private static string WithHeaders(params string[] lines)
        => "HTTP/1.1 101 Switching Protocols\r\n" + string.Concat(lines.Select(l => l + "\r\n")) + "\r\n";

    [Fact]
    public void Valid_response_completes_and_consumes_the_header_block()
    {
        ClientHandshake client = NewClient();
        var buffer = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(Valid));
        Assert.True(client.TryReadResponse(ref buffer, out string? protocol));
        Assert.Null(protocol);
        Assert.Equal(0, buffer.Length);
    }

    [Fact]
    public void Header_names_and_upgrade_value_are_case_insensitive_and_connection_is_a_list()
    {
        ClientHandshake client = NewClient();
        string response = WithHeaders("upgrade: WebSocket", "CONNECTION: keep-alive, UPGRADE", "sec-websocket-accept:" + SampleAccept + " \t", "Server: test");
        var buffer = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(response));
        Assert.True(client.TryReadResponse(ref buffer, out _));
    }

    [Fact]
    public void Response_split_at_every_byte_boundary_completes()
    {
        byte[] frame = [0b_1_000_0001, 0x02, (byte)'h', (byte)'i'];
        byte[] data = [.. Encoding.ASCII.GetBytes(Valid), .. frame];
        for (int at = 0; at <= data.Length; at++)
        {
            ClientHandshake client = NewClient();
            ReadOnlySequence<byte> buffer = BufferSegment.SplitAt(data, at);
            Assert.True(client.TryReadResponse(ref buffer, out _), $"split at {at}");
            Assert.Equal(frame, buffer.ToArray());
        }
    }

    [Fact]
    public void Response_in_one_byte_segments_completes()
    {
        ClientHandshake client = NewClient();
        ReadOnlySequence<byte> buffer = BufferSegment.ByteByByte(Encoding.ASCII.GetBytes(Valid));
        Assert.True(client.TryReadResponse(ref buffer, out _));
        Assert.Equal(0, buffer.Length);
    }

    [Fact]
    public void Every_proper_prefix_needs_more_data_and_leaves_the_buffer_untouched()
    {
        byte[] data = Encoding.ASCII.GetBytes(Valid);
        ClientHandshake client = NewClient();
        for (int length = 0; length < data.Length; length++)
        {
            ReadOnlySequence<byte> buffer = BufferSegment.SplitAt(data[..length], length / 2);
            ReadOnlySequence<byte> before = buffer;
            Assert.False(client.TryReadResponse(ref buffer, out _), $"prefix of {length}");
            Assert.Equal(before, buffer);
        }
    }

    [Fact]
    public void Frame_bytes_after_the_header_block_stay_in_the_buffer()
    {
        ClientHandshake client = NewClient();
        byte[] frames = [0b_1_000_0001, 0x03, (byte)'a', (byte)'b', (byte)'c', 0b_1_000_1001, 0x00];
        var buffer = new ReadOnlySequence<byte>([.. Encoding.ASCII.GetBytes(Valid), .. frames]);
        Assert.True(client.TryReadResponse(ref buffer, out _));
        Assert.Equal(frames, buffer.ToArray());
    }

    [Fact]
    public void Offered_subprotocol_selected_by_the_server_is_returned()
    {
        ClientHandshake client = NewClient(["v1.chat", "v2.chat"]);
        string response = WithHeaders("Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: " + SampleAccept, "Sec-WebSocket-Protocol: v2.chat");
        var buffer = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(response));
        Assert.True(client.TryReadResponse(ref buffer, out string? protocol));
        Assert.Equal("v2.chat", protocol);
    }

    [Fact]
    public void Server_may_decline_every_offered_subprotocol()
    {
        ClientHandshake client = NewClient(["v1.chat"]);
        var buffer = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(Valid));
        Assert.True(client.TryReadResponse(ref buffer, out string? protocol));
        Assert.Null(protocol);
    }

    [Fact]
    public void Reading_before_writing_the_request_is_an_error()
    {
        var client = new ClientHandshake(new Uri("ws://h/"), [], []);
        var buffer = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(Valid));
        Assert.Throws<InvalidOperationException>(() => client.TryReadResponse(ref buffer, out _));
    }

    [Fact]
    public void Status_other_than_101_fails_with_status_and_reason()
    {
        WebSocketHandshakeException e = Fails("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
        Assert.Equal(403, e.StatusCode);
        Assert.Contains("403 Forbidden", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_426_refusal_that_advertises_version_13_is_reported_with_its_status()
    {
        WebSocketHandshakeException e = Fails("HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\nConnection: close\r\nSec-WebSocket-Version: 13\r\n\r\n");
        Assert.Equal(426, e.StatusCode);
    }

    [Fact]
    public void Status_other_than_101_fails_as_soon_as_the_status_line_arrives()
    {
        WebSocketHandshakeException e = Fails("HTTP/1.1 503 Service Unavailable\r\nRetry-Af");
        Assert.Equal(503, e.StatusCode);
    }

    [Fact]
    public void Status_200_from_http_1_0_is_reported_as_a_refusal()
        => Assert.Equal(200, Fails("HTTP/1.0 200 OK\r\n\r\n").StatusCode);

    [Fact]
    public void Upgrade_from_http_1_0_fails()
        => Assert.Equal(101, Fails(Valid.Replace("HTTP/1.1", "HTTP/1.0", StringComparison.Ordinal)).StatusCode);

    [Theory]
    [InlineData("HTTP/1.1 101\r\n", true)]                      // reason phrase left out with its SP: accepted
    [InlineData("HTTP/1.1 101 \r\n", true)]
    [InlineData("HTTP/1.1  101 Switching\r\n", false)]
    [InlineData("HTTP/1.1 1O1 Switching\r\n", false)]
    [InlineData("HTTP/1.1 1011 Switching\r\n", false)]
    [InlineData("HTTP/2 101 Switching\r\n", false)]
    [InlineData("http/1.1 101 Switching\r\n", false)]
    [InlineData("SSH-2.0-OpenSSH_9.6\r\n", false)]
    [InlineData("\r\n", false)]
    public void Malformed_status_line_fails_without_a_status(string statusLine, bool valid)
    {
        string response = statusLine + "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + SampleAccept + "\r\n\r\n";
        if (valid)
        {
            ClientHandshake client = NewClient();
            var buffer = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(response));
            Assert.True(client.TryReadResponse(ref buffer, out _));
        }
        else
        {
            Assert.Null(Fails(response).StatusCode);
        }
    }

    [Fact]
    public void Non_http_answer_fails_on_its_first_bytes()
    {
        ClientHandshake client = NewClient();
        var buffer = new ReadOnlySequence<byte>("SSH"u8.ToArray());
        Assert.Throws<WebSocketHandshakeException>(() => client.TryReadResponse(ref buffer, out _));
    }

    [Fact]
    public void Missing_upgrade_fails()
        => Assert.Equal(101, Fails(WithHeaders("Connection: Upgrade", "Sec-WebSocket-Accept: " + SampleAccept)).StatusCode);

    [Theory]
    [InlineData("Upgrade: websocket2")]
    [InlineData("Upgrade: h2c")]
    [InlineData("Upgrade: websocket, h2c")]
    public void Wrong_upgrade_fails(string upgrade)
        => Assert.Equal(101, Fails(WithHeaders(upgrade, "Connection: Upgrade", "Sec-WebSocket-Accept: " + SampleAccept)).StatusCode);

    [Fact]
    public void Duplicate_upgrade_fails()
        => Assert.Equal(101, Fails(WithHeaders("Upgrade: websocket", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: " + SampleAccept)).StatusCode);

    [Fact]
    public void Missing_connection_fails()
        => Assert.Equal(101, Fails(WithHeaders("Upgrade: websocket", "Sec-WebSocket-Accept: " + SampleAccept)).StatusCode);

    [Theory]
    [InlineData("Connection: keep-alive")]
    [InlineData("Connection: upgrades")]
    [InlineData("Connection: close, keep-alive")]
    public void Connection_without_upgrade_token_fails(string connection)
        => Assert.Equal(101, Fails(WithHeaders("Upgrade: websocket", connection, "Sec-WebSocket-Accept: " + SampleAccept)).StatusCode);

    [Fact]
    public void Missing_accept_fails()
        => Assert.Equal(101, Fails(WithHeaders("Upgrade: websocket", "Connection: Upgrade")).StatusCode);

    [Theory]
    [InlineData("s3pPLMBiTxaQ9kYGzzhZRbK+xOo")]
    [InlineData("S3pPLMBiTxaQ9kYGzzhZRbK+xOo=")]
    [InlineData("dGhlIHNhbXBsZSBub25jZQ==")]
    [InlineData("")]
    public void Wrong_accept_fails(string accept)
        => Assert.Equal(101, Fails(WithHeaders("Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: " + accept)).StatusCode);

    [Fact]
    public void Duplicate_accept_fails_even_when_both_match()
    {
        WebSocketHandshakeException e = Fails(WithHeaders("Upgrade: websocket", "Connection: Upgrade",
            "Sec-WebSocket-Accept: " + SampleAccept, "Sec-WebSocket-Accept: " + SampleAccept));
        Assert.Equal(101, e.StatusCode);
        Assert.Contains("more than once", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Subprotocol_when_none_was_offered_fails()
        => Assert.Equal(101, Fails(WithHeaders("Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: " + SampleAccept,
            "Sec-WebSocket-Protocol: chat")).StatusCode);

    [Theory]
    [InlineData("Sec-WebSocket-Protocol: superchat")]
    [InlineData("Sec-WebSocket-Protocol: CHAT")]
    [InlineData("Sec-WebSocket-Protocol: chat, superchat")]
    [InlineData("Sec-WebSocket-Protocol: ")]
    public void Subprotocol_that_was_not_offered_fails(string line)
        => Assert.Equal(101, Fails(WithHeaders("Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: " + SampleAccept, line),
            ["chat"]).StatusCode);

    [Fact]
    public void Duplicate_subprotocol_header_fails()
        => Assert.Equal(101, Fails(WithHeaders("Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: " + SampleAccept,
            "Sec-WebSocket-Protocol: chat", "Sec-WebSocket-Protocol: chat"), ["chat"]).StatusCode);

    [Theory]
    [InlineData("Sec-WebSocket-Extensions: permessage-deflate")]
    [InlineData("Sec-WebSocket-Extensions: ")]
    public void Any_extension_fails_because_none_were_offered(string line)
        => Assert.Equal(101, Fails(WithHeaders("Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: " + SampleAccept, line)).StatusCode);

    [Fact]
    public void Header_line_without_colon_fails()
        => Assert.Equal(101, Fails(WithHeaders("Upgrade: websocket", "Connection Upgrade", "Sec-WebSocket-Accept: " + SampleAccept)).StatusCode);

    [Fact]
    public void Whitespace_between_header_name_and_colon_fails()
        => Assert.Equal(101, Fails(WithHeaders("Upgrade : websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: " + SampleAccept)).StatusCode);

    [Fact]
    public void Obs_fold_fails()
        => Assert.Equal(101, Fails(WithHeaders("Upgrade: websocket", "Connection: keep-alive,", " Upgrade", "Sec-WebSocket-Accept: " + SampleAccept)).StatusCode);

    [Fact]
    public void Control_character_in_header_value_fails()
        => Assert.Equal(101, Fails(WithHeaders("Upgrade: websocket", "Connection: Upgrade", "X-Evil: a\0b", "Sec-WebSocket-Accept: " + SampleAccept)).StatusCode);

    [Fact]
    public void Bare_lf_line_endings_fail()
        => Assert.Contains("Bare LF", Fails(Valid.Replace("\r\n", "\n", StringComparison.Ordinal)).Message, StringComparison.Ordinal);

    [Fact]
    public void Bare_lf_in_one_header_line_fails()
        => Assert.Contains("Bare LF", Fails(WithHeaders("Upgrade: websocket\nX: y", "Connection: Upgrade", "Sec-WebSocket-Accept: " + SampleAccept)).Message, StringComparison.Ordinal);

    [Fact]
    public void Bare_cr_fails()
        => Assert.Contains("Bare CR", Fails(WithHeaders("Upgrade: websocket\rX: y", "Connection: Upgrade", "Sec-WebSocket-Accept: " + SampleAccept)).Message, StringComparison.Ordinal);

    [Fact]
    public void Header_block_over_the_limit_fails()
    {
        string response = WithHeaders("Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: " + SampleAccept, "X-Big: " + new string('a', 300));
        ClientHandshake client = NewClient(maxHeaderBytes: 256);
        var buffer = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(response));
        WebSocketHandshakeException e = Assert.Throws<WebSocketHandshakeException>(() => client.TryReadResponse(ref buffer, out _));
        Assert.Contains("limit of 256", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Header_block_exactly_at_the_limit_completes()
    {
        byte[] data = Encoding.ASCII.GetBytes(Valid);
        ClientHandshake client = NewClient(maxHeaderBytes: data.Length);
        var buffer = new ReadOnlySequence<byte>(data);
        Assert.True(client.TryReadResponse(ref buffer, out _));
    }

    [Fact]
    public void Header_block_limit_is_enforced_while_bytes_still_trickle_in()
    {
        const int Limit = 1024;
        ClientHandshake client = NewClient(maxHeaderBytes: Limit);
        byte[] endless = Encoding.ASCII.GetBytes("HTTP/1.1 101 Switching Protocols\r\nX-Endless: " + new string('z', 4 * Limit));
        int failedAt = -1;
        for (int length = 1; length <= endless.Length; length++)
        {
            ReadOnlySequence<byte> buffer = BufferSegment.SplitAt(endless[..length], length - 1);
            try
            {
                Assert.False(client.TryReadResponse(ref buffer, out _));
            }
            catch (WebSocketHandshakeException)
            {
                failedAt = length;
                break;
            }
        }

        Assert.Equal(Limit, failedAt);
    }
}
