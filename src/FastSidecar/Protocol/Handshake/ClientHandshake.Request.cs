using System.Buffers;
using System.Text;

namespace FastSidecar.Protocol.Handshake;

/// <summary>Building the upgrade request: the options checked once, and the fixed part of the request encoded once.</summary>
internal sealed partial class ClientHandshake
{
    private static string HostHeaderValue(Uri uri)
    {
        // RFC 9110 §7.2: Host is uri-host [ ":" port ], the port left out when it is the scheme's default.
        string host = uri.HostNameType == UriHostNameType.IPv6 ? uri.Host : uri.IdnHost;
        return uri.IsDefaultPort ? host : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{host}:{uri.Port}");
    }

    private static string[] ValidateSubProtocols(IReadOnlyList<string> subProtocols)
    {
        var result = new string[subProtocols.Count];
        for (int i = 0; i < result.Length; i++)
        {
            string protocol = subProtocols[i];
            if (protocol is null || !HttpHeaderBlock.IsToken(protocol))
            {
                throw new ArgumentException($"Subprotocol \"{protocol}\" is not an HTTP token.", nameof(subProtocols));
            }

            if (Array.IndexOf(result, protocol, 0, i) >= 0)
            {
                throw new ArgumentException($"Subprotocol \"{protocol}\" is offered twice.", nameof(subProtocols));
            }

            result[i] = protocol;
        }

        return result;
    }

    private static KeyValuePair<string, string>[] ValidateHeaders(IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        var result = new KeyValuePair<string, string>[headers.Count];
        for (int i = 0; i < result.Length; i++)
        {
            (string name, string value) = headers[i];
            if (name is null || !HttpHeaderBlock.IsToken(name))
            {
                throw new ArgumentException($"Header name \"{name}\" is not an HTTP token.", nameof(headers));
            }

            foreach (string reserved in s_reservedHeaders)
            {
                if (string.Equals(name, reserved, StringComparison.OrdinalIgnoreCase))
                {
                    throw new ArgumentException($"Header \"{name}\" is set by the WebSocket handshake and cannot be supplied.", nameof(headers));
                }
            }

            value = (value ?? throw new ArgumentException($"Header \"{name}\" has a null value.", nameof(headers))).Trim(' ', '\t');
            foreach (char c in value)
            {
                // Printable ASCII and HTAB only: rules out CR/LF injection, and the request is written as ASCII.
                if (c != '\t' && (c < 0x20 || c > 0x7E))
                {
                    throw new ArgumentException($"Header \"{name}\" has a control or non-ASCII character in its value.", nameof(headers));
                }
            }

            result[i] = new KeyValuePair<string, string>(name, value);
        }

        return result;
    }

    private static byte[] EncodePrefix(string target, string host, string[] subProtocols, KeyValuePair<string, string>[] headers)
    {
        ReadOnlySpan<byte> fixedHeaders = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"u8;
        ReadOnlySpan<byte> keyName = "Sec-WebSocket-Key: "u8;
        ReadOnlySpan<byte> protocolName = "Sec-WebSocket-Protocol: "u8;

        int length = "GET ".Length + target.Length + " HTTP/1.1\r\nHost: ".Length + host.Length + 2 + fixedHeaders.Length + keyName.Length;
        if (subProtocols.Length != 0)
        {
            length += protocolName.Length + 2 + ((subProtocols.Length - 1) * 2);
            foreach (string protocol in subProtocols)
            {
                length += protocol.Length;
            }
        }

        foreach ((string name, string value) in headers)
        {
            length += name.Length + 2 + value.Length + 2;
        }

        byte[] prefix = new byte[length];
        var writer = new AsciiSpanWriter(prefix);
        writer.Write("GET "u8);
        writer.Write(target);
        writer.Write(" HTTP/1.1\r\nHost: "u8);
        writer.Write(host);
        writer.Write("\r\n"u8);
        writer.Write(fixedHeaders);
        if (subProtocols.Length != 0)
        {
            writer.Write(protocolName);
            for (int i = 0; i < subProtocols.Length; i++)
            {
                if (i != 0)
                {
                    writer.Write(", "u8);
                }

                writer.Write(subProtocols[i]);
            }

            writer.Write("\r\n"u8);
        }

        foreach ((string name, string value) in headers)
        {
            writer.Write(name);
            writer.Write(": "u8);
            writer.Write(value);
            writer.Write("\r\n"u8);
        }

        writer.Write(keyName);
        System.Diagnostics.Debug.Assert(writer.Position == length);
        return prefix;
    }

    private static bool IsVisibleAscii(string text)
    {
        foreach (char c in text)
        {
            if (c is <= ' ' or > '~')
            {
                return false;
            }
        }

        return text.Length != 0;
    }
}
