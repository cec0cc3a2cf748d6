using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using FastSidecar.Protocol.Handshake;

namespace FastSidecar.Tests.Handshake;

/// <summary>RFC 7692 §5–7 from the client's side: the offer it writes and each answer it must accept or refuse.</summary>
public class DeflateNegotiationTests
{
    private const string SampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    private static ClientHandshake NewClient(WebSocketDeflateOptions? deflate)
    {
        var client = new ClientHandshake(new Uri("ws://example.com/chat"), [], [], ClientHandshake.DefaultMaxHeaderBytes, deflate);
        client.WriteRequest(new ArrayBufferWriter<byte>(), "the sample nonce"u8);
        return client;
    }

    private static string Response(params string[] extensionLines) =>
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + SampleAccept + "\r\n"
        + string.Concat(extensionLines.Select(l => "Sec-WebSocket-Extensions: " + l + "\r\n")) + "\r\n";

    private static DeflateParameters? Negotiate(WebSocketDeflateOptions? offer, params string[] extensionLines)
    {
        ClientHandshake client = NewClient(offer);
        var buffer = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(Response(extensionLines)));
        Assert.True(client.TryReadResponse(ref buffer, out _));
        return client.NegotiatedDeflate;
    }

    private static WebSocketHandshakeException Refused(WebSocketDeflateOptions? offer, params string[] extensionLines)
    {
        ClientHandshake client = NewClient(offer);
        var buffer = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(Response(extensionLines)));
        var refused = Assert.Throws<WebSocketHandshakeException>(() => client.TryReadResponse(ref buffer, out _));
        Assert.Equal(101, refused.StatusCode);
        return refused;
    }

    private static string RequestText(WebSocketDeflateOptions? deflate)
    {
        var client = new ClientHandshake(new Uri("ws://example.com/chat"), [], [], ClientHandshake.DefaultMaxHeaderBytes, deflate);
        var writer = new ArrayBufferWriter<byte>();
        client.WriteRequest(writer, "the sample nonce"u8);
        return Encoding.ASCII.GetString(writer.WrittenSpan);
    }

    [Fact]
    public void Default_options_offer_permessage_deflate_with_a_bare_client_max_window_bits()
    {
        Assert.Contains("\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n", RequestText(new WebSocketDeflateOptions()), StringComparison.Ordinal);
    }

    [Fact]
    public void Without_deflate_options_no_extension_is_offered()
    {
        Assert.DoesNotContain("Sec-WebSocket-Extensions", RequestText(null), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_parameter_that_differs_from_the_default_is_offered()
    {
        var options = new WebSocketDeflateOptions { ClientMaxWindowBits = 10, ClientContextTakeover = false, ServerMaxWindowBits = 12, ServerContextTakeover = false };
        Assert.Equal("permessage-deflate; client_max_window_bits=10; client_no_context_takeover; server_max_window_bits=12; server_no_context_takeover",
            DeflateNegotiation.BuildOffer(options));
    }

    [Fact]
    public void Bare_acceptance_keeps_15_bit_windows_and_context_takeover_both_ways()
    {
        Assert.Equal(new DeflateParameters(15, 15, true, true), Negotiate(new WebSocketDeflateOptions(), "permessage-deflate"));
    }

    [Fact]
    public void No_extension_in_the_answer_means_no_compression()
    {
        Assert.Null(Negotiate(new WebSocketDeflateOptions()));
    }

    [Fact]
    public void Server_no_context_takeover_resets_the_inflater_per_message()
    {
        Assert.Equal(new DeflateParameters(15, 15, true, false), Negotiate(new WebSocketDeflateOptions(), "permessage-deflate; server_no_context_takeover"));
    }

    [Fact]
    public void Client_no_context_takeover_asked_by_the_server_is_honoured()
    {
        Assert.Equal(new DeflateParameters(15, 15, false, true), Negotiate(new WebSocketDeflateOptions(), "permessage-deflate; client_no_context_takeover"));
    }

    [Fact]
    public void Client_no_context_takeover_we_offered_binds_us_even_when_the_answer_omits_it()
    {
        var options = new WebSocketDeflateOptions { ClientContextTakeover = false };
        Assert.Equal(new DeflateParameters(15, 15, false, true), Negotiate(options, "permessage-deflate"));
    }

    [Theory]
    [InlineData("permessage-deflate; client_max_window_bits=9", 9)]
    [InlineData("permessage-deflate; client_max_window_bits=8", 8)]
    [InlineData("permessage-deflate; client_max_window_bits=\"12\"", 12)]
    [InlineData("permessage-deflate;client_max_window_bits = 15", 15)]
    public void Client_max_window_bits_from_the_server_limits_our_compressor(string answer, int bits)
    {
        Assert.Equal(bits, Negotiate(new WebSocketDeflateOptions(), answer)!.Value.ClientMaxWindowBits);
    }

    [Fact]
    public void Client_max_window_bits_we_offered_binds_us_when_the_answer_omits_it()
    {
        Assert.Equal(11, Negotiate(new WebSocketDeflateOptions { ClientMaxWindowBits = 11 }, "permessage-deflate")!.Value.ClientMaxWindowBits);
    }

    [Fact]
    public void Client_max_window_bits_above_our_offer_is_refused()
    {
        Refused(new WebSocketDeflateOptions { ClientMaxWindowBits = 10 }, "permessage-deflate; client_max_window_bits=12");
    }

    [Fact]
    public void Server_max_window_bits_sets_the_inflater_window()
    {
        Assert.Equal(new DeflateParameters(15, 10, true, true), Negotiate(new WebSocketDeflateOptions(), "permessage-deflate; server_max_window_bits=10"));
    }

    [Fact]
    public void Server_max_window_bits_at_or_below_our_request_is_accepted()
    {
        Assert.Equal(9, Negotiate(new WebSocketDeflateOptions { ServerMaxWindowBits = 12 }, "permessage-deflate; server_max_window_bits=9")!.Value.ServerMaxWindowBits);
    }

    [Fact]
    public void Server_max_window_bits_above_our_request_is_refused()
    {
        Refused(new WebSocketDeflateOptions { ServerMaxWindowBits = 10 }, "permessage-deflate; server_max_window_bits=11");
    }

    [Fact]
    public void Server_max_window_bits_and_no_context_takeover_we_asked_for_may_be_declined()
    {
        var options = new WebSocketDeflateOptions { ServerMaxWindowBits = 10, ServerContextTakeover = false };
        Assert.Equal(new DeflateParameters(15, 15, true, true), Negotiate(options, "permessage-deflate"));
    }

    [Fact]
    public void All_four_parameters_together()
    {
        var options = new WebSocketDeflateOptions { ClientMaxWindowBits = 12, ClientContextTakeover = false, ServerMaxWindowBits = 11, ServerContextTakeover = false };
        Assert.Equal(new DeflateParameters(9, 10, false, false), Negotiate(options,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9"));
    }

    [Theory]
    [InlineData("permessage-deflate; server_max_window_bits")]        // the server must send a value
    [InlineData("permessage-deflate; client_max_window_bits")]        // likewise in a response (§7.1.2.2)
    [InlineData("permessage-deflate; server_max_window_bits=7")]
    [InlineData("permessage-deflate; server_max_window_bits=16")]
    [InlineData("permessage-deflate; client_max_window_bits=0")]
    [InlineData("permessage-deflate; client_max_window_bits=010")]
    [InlineData("permessage-deflate; client_max_window_bits=abc")]
    public void Window_bits_out_of_range_or_without_a_value_are_refused(string answer)
    {
        Refused(new WebSocketDeflateOptions(), answer);
    }

    [Theory]
    [InlineData("permessage-deflate; server_no_context_takeover; server_no_context_takeover")]
    [InlineData("permessage-deflate; client_max_window_bits=10; client_max_window_bits=10")]
    public void A_parameter_twice_is_refused(string answer) => Refused(new WebSocketDeflateOptions(), answer);

    [Theory]
    [InlineData("permessage-deflate; server_no_context_takeover=1")]
    [InlineData("permessage-deflate; client_no_context_takeover=true")]
    public void A_value_on_a_flag_parameter_is_refused(string answer) => Refused(new WebSocketDeflateOptions(), answer);

    [Fact]
    public void An_unknown_parameter_is_refused()
    {
        Assert.Contains("mystery", Refused(new WebSocketDeflateOptions(), "permessage-deflate; mystery=1").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_extension_that_was_not_offered_is_refused()
    {
        Refused(new WebSocketDeflateOptions(), "x-webkit-deflate-frame");
    }

    [Fact]
    public void Any_extension_is_refused_when_none_was_offered()
    {
        Refused(null, "permessage-deflate");
    }

    [Fact]
    public void Two_extensions_in_one_header_are_refused()
    {
        Refused(new WebSocketDeflateOptions(), "permessage-deflate, permessage-deflate; client_max_window_bits=10");
    }

    [Fact]
    public void Two_extension_headers_are_refused()
    {
        Refused(new WebSocketDeflateOptions(), "permessage-deflate", "permessage-deflate");
    }

    [Fact]
    public void Extension_name_is_case_insensitive()
    {
        Assert.NotNull(Negotiate(new WebSocketDeflateOptions(), "PerMessage-Deflate"));
    }
}
