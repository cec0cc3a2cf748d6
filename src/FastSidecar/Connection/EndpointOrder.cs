using System.Net;
using System.Net.Sockets;

namespace FastSidecar.Connection;

/// <summary>
/// The order in which the addresses of a host are tried: RFC 8305 §4, with a "First Address Family Count" of one.
/// </summary>
/// <remarks>
/// The resolver has already sorted its answer by the host's address selection policy (RFC 6724), so its first address
/// names the preferred family. Interleaving the families from there means that a broken path in one family (a host
/// with an IPv6 address but no IPv6 route, a server listening on 127.0.0.1 only) costs one attempt, not all of them.
/// </remarks>
internal static class EndpointOrder
{
    /// <summary>
    /// The usable addresses of <paramref name="resolved"/> (IPv4, and IPv6 where the OS supports it; duplicates
    /// dropped), interleaved by family starting with the family of the first.
    /// </summary>
    public static IPAddress[] Interleave(IReadOnlyList<IPAddress> resolved)
    {
        var preferred = new List<IPAddress>(resolved.Count);
        var other = new List<IPAddress>(resolved.Count);
        AddressFamily? first = null;
        foreach (IPAddress address in resolved)
        {
            if (!IsUsable(address) || preferred.Contains(address) || other.Contains(address))
            {
                continue;
            }

            first ??= address.AddressFamily;
            (address.AddressFamily == first ? preferred : other).Add(address);
        }

        var ordered = new IPAddress[preferred.Count + other.Count];
        int count = 0;
        for (int i = 0; i < Math.Max(preferred.Count, other.Count); i++)
        {
            if (i < preferred.Count)
            {
                ordered[count++] = preferred[i];
            }

            if (i < other.Count)
            {
                ordered[count++] = other[i];
            }
        }

        return ordered;
    }

    private static bool IsUsable(IPAddress address) => address.AddressFamily switch
    {
        AddressFamily.InterNetwork => true,
        AddressFamily.InterNetworkV6 => Socket.OSSupportsIPv6,
        _ => false,
    };
}
