using System.Globalization;

namespace FastSidecar.Tests.Peers;

/// <summary>
/// The text commands every echo peer (Node ws, Python websockets, Kestrel) understands. A text message starting with
/// <see cref="Prefix"/> is a command; everything else is echoed unchanged with its type. Unknown commands are echoed.
/// </summary>
public static class EchoProtocol
{
    /// <summary>Marks a text message as a command rather than data to echo.</summary>
    public const string Prefix = "@@";

    /// <summary>The NEXT echo is sent as <paramref name="frames"/> frames (where the peer can fragment).</summary>
    public static string Fragment(int frames) => string.Create(CultureInfo.InvariantCulture, $"{Prefix}fragment:{frames}");

    /// <summary>The peer sends a ping carrying <paramref name="payload"/>; when the pong comes back it sends the text <see cref="PongReport"/>.</summary>
    public static string Ping(string payload) => Prefix + "ping:" + payload;

    /// <summary>The text a peer sends after the pong answering <see cref="Ping"/> arrived.</summary>
    public static string PongReport(string payload) => Prefix + "pong:" + payload;

    /// <summary>The peer starts the close handshake with this status.</summary>
    public static string Close(int code, string reason) => string.Create(CultureInfo.InvariantCulture, $"{Prefix}close:{code}:{reason}");

    /// <summary>The peer starts the close handshake with its library's default (Node: no status body; Python and Kestrel: 1000).</summary>
    public const string CloseDefault = Prefix + "close";

    /// <summary>The peer drops the TCP connection without a close frame.</summary>
    public const string Terminate = Prefix + "terminate";

    /// <summary>Start of the text a peer sends when its library refused a command (e.g. a ping over 125 bytes).</summary>
    public const string ErrorPrefix = Prefix + "error:";
}

/// <summary>A running echo peer speaking <see cref="EchoProtocol"/>.</summary>
public interface IEchoPeer
{
    /// <summary>Short name for test output, e.g. "node ws 8.23.0".</summary>
    string Name { get; }

    /// <summary>The loopback port the peer listens on.</summary>
    int Port { get; }

    /// <summary><c>ws://127.0.0.1:port/</c>; every peer accepts any path.</summary>
    Uri Uri { get; }

    /// <summary>True when <see cref="EchoProtocol.Ping"/> makes the peer send a real ping frame (false: the command is echoed).</summary>
    bool SupportsServerPing { get; }

    /// <summary>True when <see cref="EchoProtocol.Fragment"/> splits the payload bytes anywhere, even inside a UTF-8 sequence.</summary>
    bool FragmentsSplitUtf8Sequences { get; }

    /// <summary>For a <c>wss://</c> peer, client TLS options that trust its test certificate; null for <c>ws://</c>.</summary>
    System.Net.Security.SslClientAuthenticationOptions? ClientTls => null;
}
