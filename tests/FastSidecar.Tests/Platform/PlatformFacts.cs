using System.Net;
using System.Net.Sockets;
using FastSidecar.Loop.Interop;

namespace FastSidecar.Tests.Platform;

/// <summary>What this host can do, probed once: decides which platform-bound tests run and which report a skip.</summary>
internal static class HostCapabilities
{
    private static readonly Lazy<bool> s_ipv6Loopback = new(ProbeIPv6Loopback);

    /// <summary>The native (exception-free) connect path is in use: Linux with epoll.</summary>
    public static bool NativeConnect => LinuxSocket.IsSupported;

    /// <summary>A TCP socket can listen on ::1 (IPv6 may be disabled in containers).</summary>
    public static bool IPv6Loopback => s_ipv6Loopback.Value;

    private static bool ProbeIPv6Loopback()
    {
        if (!Socket.OSSupportsIPv6)
        {
            return false;
        }

        try
        {
            using var probe = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
            probe.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
            probe.Listen();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}

/// <summary>
/// A fact about the Linux-only native connect path: reported as skipped elsewhere, never as a pass that checked
/// nothing. xunit 2 has no skip from inside a test, so the decision is made when the attribute is read.
/// </summary>
public sealed class LinuxNativeFactAttribute : FactAttribute
{
    /// <param name="requiresIPv6Loopback">Also skip when this host cannot listen on ::1.</param>
    public LinuxNativeFactAttribute(bool requiresIPv6Loopback = false)
    {
        if (!HostCapabilities.NativeConnect)
        {
            Skip = "Linux behaviour (native connect with epoll): elsewhere the portable connect path runs.";
        }
        else if (requiresIPv6Loopback && !HostCapabilities.IPv6Loopback)
        {
            Skip = "This host cannot listen on the IPv6 loopback (::1).";
        }
    }
}

/// <summary>A fact that needs a TCP listener on ::1; reported as skipped on hosts without IPv6 loopback.</summary>
public sealed class IPv6LoopbackFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when ::1 cannot be listened on.</summary>
    public IPv6LoopbackFactAttribute()
    {
        if (!HostCapabilities.IPv6Loopback)
        {
            Skip = "This host cannot listen on the IPv6 loopback (::1).";
        }
    }
}
