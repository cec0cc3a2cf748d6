using System.Net.WebSockets;
using System.Text;

namespace FastSidecar.Protocol.Handshake;

/// <summary>
/// The client's half of the permessage-deflate negotiation (RFC 7692 §5–7): the offer it writes, and the check of the
/// server's answer against that offer.
/// </summary>
/// <remarks>
/// The offer always carries <c>client_max_window_bits</c> (with a value only when the options ask for less than 15):
/// it tells the server we can compress with a smaller window, which some servers insist on (§7.1.2.2). Parameters we
/// put in our own offer bind us even where the answer leaves them out: a window we offered is the largest we use, and
/// <c>client_no_context_takeover</c> we offered is honoured (§7.1.1.2). Anything in the answer we cannot honour – an
/// extension we did not offer, a parameter twice, an unknown one, a value out of range or above what we offered –
/// fails the handshake: RFC 6455 §9.1 and RFC 7692 §5 leave the client no other choice.
/// </remarks>
internal static class DeflateNegotiation
{
    /// <summary>The extension token (RFC 7692 §7).</summary>
    public const string ExtensionName = "permessage-deflate";

    private const int MinWindowBits = 8;
    private const int MaxWindowBits = 15;

    /// <summary>The value of the <c>Sec-WebSocket-Extensions</c> request header for <paramref name="options"/>.</summary>
    public static string BuildOffer(WebSocketDeflateOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var offer = new StringBuilder(ExtensionName);
        offer.Append("; client_max_window_bits");
        if (options.ClientMaxWindowBits != MaxWindowBits)
        {
            offer.Append('=').Append(options.ClientMaxWindowBits);
        }

        if (!options.ClientContextTakeover)
        {
            offer.Append("; client_no_context_takeover");
        }

        if (options.ServerMaxWindowBits != MaxWindowBits)
        {
            offer.Append("; server_max_window_bits=").Append(options.ServerMaxWindowBits);
        }

        if (!options.ServerContextTakeover)
        {
            offer.Append("; server_no_context_takeover");
        }

        return offer.ToString();
    }

    /// <summary>
    /// Checks one <c>Sec-WebSocket-Extensions</c> response value against what <paramref name="offered"/> produced.
    /// </summary>
    /// <param name="value">The header's value, as received.</param>
    /// <param name="offered">The options the offer was built from.</param>
    /// <param name="status">The response status, carried by the exception.</param>
    /// <returns>What both sides use from now on.</returns>
    /// <exception cref="WebSocketHandshakeException">The answer is one the client cannot honour.</exception>
    public static DeflateParameters Accept(ReadOnlySpan<byte> value, WebSocketDeflateOptions offered, int? status = 101)
    {
        ArgumentNullException.ThrowIfNull(offered);
        string text = Encoding.ASCII.GetString(value);
        if (text.Contains(',', StringComparison.Ordinal) && !IsInsideQuotes(text, text.IndexOf(',', StringComparison.Ordinal)))
        {
            throw Refuse($"The server accepted more than one extension (\"{text}\"), but only permessage-deflate was offered.", status);
        }

        string[] parts = text.Split(';');
        string name = parts[0].Trim(' ', '\t');
        if (!string.Equals(name, ExtensionName, StringComparison.OrdinalIgnoreCase))
        {
            throw Refuse($"The server selected extension \"{name}\", which was not offered.", status);
        }

        int clientBits = offered.ClientMaxWindowBits;
        // A server_max_window_bits or server_no_context_takeover we asked for and the server left out is declined
        // (§7.1.1.1, §7.1.2.1): it may compress with any window and keep its context, which we can always inflate.
        int serverBits = MaxWindowBits;
        bool serverTakeover = true;
        bool clientTakeover = offered.ClientContextTakeover;
        bool seenClientBits = false, seenServerBits = false, seenClientNoTakeover = false, seenServerNoTakeover = false;

        for (int i = 1; i < parts.Length; i++)
        {
            string parameter = parts[i].Trim(' ', '\t');
            int equals = parameter.IndexOf('=', StringComparison.Ordinal);
            string key = (equals < 0 ? parameter : parameter[..equals]).TrimEnd(' ', '\t');
            string? raw = equals < 0 ? null : Unquote(parameter[(equals + 1)..].TrimStart(' ', '\t'), status);
            switch (key.ToLowerInvariant())
            {
                case "server_no_context_takeover":
                    Once(ref seenServerNoTakeover, key, status);
                    NoValue(key, raw, status);
                    serverTakeover = false;
                    break;
                case "client_no_context_takeover":
                    Once(ref seenClientNoTakeover, key, status);
                    NoValue(key, raw, status);
                    clientTakeover = false;
                    break;
                case "server_max_window_bits":
                    Once(ref seenServerBits, key, status);
                    serverBits = WindowBits(key, raw, status);
                    if (serverBits > offered.ServerMaxWindowBits)
                    {
                        // §7.1.2.1: the server may only lower the limit we asked for.
                        throw Refuse($"The server answered server_max_window_bits={serverBits}, above the {offered.ServerMaxWindowBits} offered.", status);
                    }

                    break;
                case "client_max_window_bits":
                    Once(ref seenClientBits, key, status);
                    int bits = WindowBits(key, raw, status);
                    if (bits > offered.ClientMaxWindowBits)
                    {
                        throw Refuse($"The server answered client_max_window_bits={bits}, above the {offered.ClientMaxWindowBits} offered.", status);
                    }

                    clientBits = bits;
                    break;
                default:
                    throw Refuse($"The server answered permessage-deflate with the unknown parameter \"{key}\".", status);
            }
        }

        return new DeflateParameters(clientBits, serverBits, clientTakeover, serverTakeover);
    }

    private static void Once(ref bool seen, string key, int? status)
    {
        if (seen)
        {
            throw Refuse($"The server sent the permessage-deflate parameter \"{key}\" twice.", status);
        }

        seen = true;
    }

    private static void NoValue(string key, string? raw, int? status)
    {
        if (raw is not null)
        {
            throw Refuse($"The permessage-deflate parameter \"{key}\" takes no value, but the server sent \"{raw}\".", status);
        }
    }

    private static int WindowBits(string key, string? raw, int? status)
    {
        // §7.1.2: 1*DIGIT, no leading zero, 8–15; the server must send a value for either window parameter.
        if (raw is null || raw.Length is 0 or > 2 || raw[0] == '0' || !raw.All(char.IsAsciiDigit)
            || int.Parse(raw, System.Globalization.CultureInfo.InvariantCulture) is < MinWindowBits or > MaxWindowBits)
        {
            throw Refuse($"The permessage-deflate parameter \"{key}\" needs a value from 8 to 15, but the server sent \"{raw}\".", status);
        }

        return int.Parse(raw, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string Unquote(string raw, int? status)
    {
        // RFC 6455 §9.1: a parameter value is a token or a quoted-string whose content is itself a token.
        if (raw.Length >= 2 && raw[0] == '"' && raw[^1] == '"')
        {
            return raw[1..^1];
        }

        if (raw.Contains('"', StringComparison.Ordinal))
        {
            throw Refuse($"Malformed permessage-deflate parameter value \"{raw}\".", status);
        }

        return raw;
    }

    private static bool IsInsideQuotes(string text, int index) => text.AsSpan(0, index).Count('"') % 2 == 1;

    private static WebSocketHandshakeException Refuse(string message, int? status) => new(message, status);
}
