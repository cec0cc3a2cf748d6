using System.Net;
using System.Net.Sockets;

namespace FastSidecar.Connection;

/// <summary>
/// Turns a host name into addresses without blocking the loop thread. Names that need no resolver are answered at
/// once, on the calling thread: IP literals, and the special-use names of RFC 6761 (<c>localhost</c>, <c>*.localhost</c>,
/// <c>invalid</c>, <c>*.invalid</c>). Every other name goes to <see cref="Dns.GetHostAddressesAsync(string, CancellationToken)"/>.
/// </summary>
/// <remarks>
/// Why answer the special names here: RFC 6761 §6.3 and §6.4 say a resolver library should answer them itself and never
/// send a query for them, and the OS resolver does not (a query for <c>x.invalid</c> leaves the machine). It also makes
/// <c>localhost</c> mean both loopbacks, <c>::1</c> first as the OS would order them, whatever the hosts file lists, so a
/// server bound to either family is reached, as browsers do.
/// </remarks>
internal static class HostLookup
{
    /// <summary>The system resolver; the default behind <see cref="SidecarOptions.HostLookup"/>.</summary>
    public static readonly Func<string, CancellationToken, Task<IPAddress[]>> SystemResolver =
        static (host, cancellation) => Dns.GetHostAddressesAsync(host, cancellation);

    /// <summary>
    /// Answers <paramref name="host"/> when no resolver is needed: true with <paramref name="addresses"/>, or true with
    /// <paramref name="error"/> set for a name that must not resolve; false when the resolver has to be asked.
    /// </summary>
    public static bool TryAnswerLocally(string host, out IPAddress[] addresses, out SocketError error)
    {
        error = SocketError.Success;
        if (IPAddress.TryParse(host, out IPAddress? literal))
        {
            addresses = [literal];
            return true;
        }

        string name = host.TrimEnd('.');
        if (IsWithin(name, "localhost"))
        {
            addresses = Socket.OSSupportsIPv6 ? [IPAddress.IPv6Loopback, IPAddress.Loopback] : [IPAddress.Loopback];
            return true;
        }

        addresses = [];
        if (IsWithin(name, "invalid"))
        {
            error = SocketError.HostNotFound;
            return true;
        }

        return false;
    }

    private static bool IsWithin(string name, string domain) =>
        name.Equals(domain, StringComparison.OrdinalIgnoreCase)
        || (name.Length > domain.Length && name[^(domain.Length + 1)] == '.' && name.EndsWith(domain, StringComparison.OrdinalIgnoreCase));
}
