using System.Text;
using FastSidecar.Protocol.Handshake;

namespace FastSidecar.Tests.Handshake;

public class WebSocketAcceptTests
{
    [Fact]
    public void Rfc6455_section_1_3_sample_key_gives_sample_accept()
    {
        byte[] accept = new byte[WebSocketAccept.AcceptLength];
        WebSocketAccept.Compute("dGhlIHNhbXBsZSBub25jZQ=="u8, accept);
        Assert.Equal("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", Encoding.ASCII.GetString(accept));
    }

    [Fact]
    public void Rfc6455_sample_nonce_encodes_to_sample_key()
    {
        byte[] key = new byte[WebSocketAccept.KeyLength];
        WebSocketAccept.KeyFromNonce("the sample nonce"u8, key);
        Assert.Equal("dGhlIHNhbXBsZSBub25jZQ==", Encoding.ASCII.GetString(key));
    }

    [Fact]
    public void New_keys_are_valid_and_differ()
    {
        byte[] a = new byte[WebSocketAccept.KeyLength], b = new byte[WebSocketAccept.KeyLength];
        WebSocketAccept.NewKey(a);
        WebSocketAccept.NewKey(b);
        Assert.True(WebSocketAccept.IsValidKey(a));
        Assert.True(WebSocketAccept.IsValidKey(b));
        Assert.False(a.AsSpan().SequenceEqual(b));
    }

    [Theory]
    [InlineData("dGhlIHNhbXBsZSBub25jZQ==", true)]
    [InlineData("dGhlIHNhbXBsZSBub25jZQ=", false)]       // 23 chars
    [InlineData("dGhlIHNhbXBsZSBub25jZSE=", false)]      // 24 chars but 17 bytes
    [InlineData("dGhlIHNhbXBsZSBub25j ZQ=", false)]      // whitespace inside
    [InlineData("dGhlIHNhbXBsZSBub25jZ!==", false)]      // not base64
    public void Key_validity_follows_section_4_2_1(string key, bool valid)
        => Assert.Equal(valid, WebSocketAccept.IsValidKey(Encoding.ASCII.GetBytes(key)));
}
