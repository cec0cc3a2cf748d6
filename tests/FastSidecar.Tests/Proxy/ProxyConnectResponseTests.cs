using System.Text;
using FastSidecar.Protocol.Handshake;

namespace FastSidecar.Tests.Proxy;

/// <summary>The CONNECT answer parser: one malformed or boundary input per test.</summary>
public sealed class ProxyConnectResponseTests
{
    private static ProxyConnectParse Parse(string text, out int status, out string? reason, out int length, int max = 8192) =>
        ProxyConnectResponse.TryParse(Encoding.Latin1.GetBytes(text), max, out status, out reason, out length);

    [Fact]
    public void A_200_with_headers_opens_the_tunnel_and_stops_at_the_blank_line()
    {
        const string Head = "HTTP/1.1 200 Connection established\r\nProxy-Agent: tinyproxy\r\n\r\n";
        Assert.Equal(ProxyConnectParse.Complete, Parse(Head + "\x16\x03\x01", out int status, out string? reason, out int length));
        Assert.Equal(200, status);
        Assert.Null(reason);
        Assert.Equal(Head.Length, length);
    }

    [Fact]
    public void A_status_line_without_a_reason_phrase_is_complete() =>
        Assert.Equal(ProxyConnectParse.Complete, Parse("HTTP/1.0 200\r\n\r\n", out _, out _, out _));

    [Fact]
    public void A_refusal_carries_its_status_and_reason() 
    {
        Assert.Equal(ProxyConnectParse.Complete, Parse("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\n\r\n", out int status, out string? reason, out _));
        Assert.Equal(407, status);
        Assert.Equal("Proxy Authentication Required", reason);
    }

    [Fact]
    public void An_unfinished_header_block_needs_more_data() =>
        Assert.Equal(ProxyConnectParse.NeedMoreData, Parse("HTTP/1.1 200 OK\r\nX: y\r\n", out _, out _, out _));

    [Fact]
    public void A_header_block_over_the_limit_is_invalid()
    {
        Assert.Equal(ProxyConnectParse.Invalid, Parse("HTTP/1.1 200 OK\r\nX: " + new string('a', 300), out _, out _, out _, max: 256));
        Assert.Equal(ProxyConnectParse.Invalid, Parse("HTTP/1.1 200 OK\r\nX: " + new string('a', 300) + "\r\n\r\n", out _, out _, out _, max: 256));
    }

    [Theory]
    [InlineData("HTTP/2 200 OK\r\n\r\n")]
    [InlineData("HTTP/1.1 20 OK\r\n\r\n")]
    [InlineData("HTTP/1.1 2x0 OK\r\n\r\n")]
    [InlineData("HTTP/1.1 200OK\r\n\r\n")]
    [InlineData("SSH-2.0-OpenSSH\r\n\r\n")]
    [InlineData("HTTP/1.1 099 Low\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nX: \u0001\r\n\r\n")]
    public void Something_that_is_not_an_HTTP_status_line_is_invalid(string text) =>
        Assert.Equal(ProxyConnectParse.Invalid, Parse(text, out _, out _, out _));

    [Fact]
    public void A_long_reason_phrase_is_cut()
    {
        Assert.Equal(ProxyConnectParse.Complete, Parse("HTTP/1.1 502 " + new string('r', 1000) + "\r\n\r\n", out _, out string? reason, out _));
        Assert.Equal(128, reason!.Length);
    }
}
