using System.Net;
using System.Net.Sockets;
using FastSidecar.Loop.Interop;

namespace FastSidecar.Tests.Platform;

/// <summary>
/// What this host can do, probed once. The platform-bound tests require it and fail with the reason when it is
/// missing: a skip would report a test that checked nothing, and the supported platform (Linux, with the IPv6
/// loopback) has both.
/// </summary>
internal static class HostCapabilities
{
    private static readonly Lazy<bool> s_ipv6Loopback = new(ProbeIPv6Loopback);

    /// <summary>The native (exception-free) connect path is in use: Linux with epoll.</summary>
    public static bool NativeConnect => LinuxSocket.IsSupported;

    /// <summary>A TCP socket can listen on ::1 (IPv6 may be disabled in containers).</summary>
    public static bool IPv6Loopback => s_ipv6Loopback.Value;

    /// <summary>Fails the calling test, naming the capability, when this host lacks it.</summary>
    public static void Require(bool capability, string what) =>
        Assert.True(capability, $"This test needs {what}, which this host does not have.");

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
