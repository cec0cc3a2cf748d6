using System.Globalization;

namespace FastSidecar.Testing;

/// <summary>
/// Load the echo server can generate or absorb instead of echoing, selected by the request path, so benchmarks can
/// measure one direction at a time against the same server.
/// </summary>
internal enum TrafficKind
{
    /// <summary>Echo (or the fault the path asked for).</summary>
    Echo,

    /// <summary>
    /// Path <c>/flood?size=S&amp;count=N</c>: right after opening, send N binary messages of S bytes as fast as the socket
    /// takes them (each starts with a little-endian 64-bit sequence number from 0 when S is at least 8); every text message the client sends afterwards whose payload is a decimal number asks for that many
    /// more. Other client messages are discarded.
    /// </summary>
    Flood,

    /// <summary>
    /// Path <c>/sink</c>: discard binary messages; answer each text message with the decimal count of binary messages
    /// received so far. Because one connection keeps its order, the answer proves that every earlier message arrived.
    /// </summary>
    Sink,
}

/// <summary>The parsed traffic request of one connection.</summary>
internal readonly record struct TrafficMode(TrafficKind Kind, int MessageSize, long InitialCount)
{
    public static TrafficMode Echo => new(TrafficKind.Echo, 0, 0);

    /// <summary>Reads the mode from a request target such as <c>/flood?size=64&amp;count=1000</c>.</summary>
    public static TrafficMode Parse(string? target)
    {
        if (target is null)
        {
            return Echo;
        }

        int query = target.IndexOf('?', StringComparison.Ordinal);
        string path = query < 0 ? target : target[..query];
        switch (path)
        {
            case "/sink":
                return new TrafficMode(TrafficKind.Sink, 0, 0);
            case "/flood":
                int size = 64;
                long count = 0;
                if (query >= 0)
                {
                    foreach (string pair in target[(query + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries))
                    {
                        int eq = pair.IndexOf('=', StringComparison.Ordinal);
                        if (eq < 0)
                        {
                            continue;
                        }

                        ReadOnlySpan<char> value = pair.AsSpan(eq + 1);
                        switch (pair[..eq])
                        {
                            case "size" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int s) && s >= 0:
                                size = s;
                                break;
                            case "count" when long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long c):
                                count = c;
                                break;
                        }
                    }
                }

                return new TrafficMode(TrafficKind.Flood, size, count);
            default:
                return Echo;
        }
    }

    /// <summary>The request path of a flood of <paramref name="count"/> messages of <paramref name="size"/> bytes.</summary>
    public static string FloodPath(int size, long count) =>
        string.Create(CultureInfo.InvariantCulture, $"/flood?size={size}&count={count}");
}
