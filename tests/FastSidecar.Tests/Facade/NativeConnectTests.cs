using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using FastSidecar.Buffers;
using FastSidecar.Loop.Interop;
using FastSidecar.Testing;
using FastSidecar.Tests.Platform;

namespace FastSidecar.Tests.Facade;

/// <summary>The connect path that does not throw: the native address layout it relies on, and the exceptions a cycle costs.</summary>
[Collection(ResourceCountingGroup.Name)]
public sealed class NativeConnectTests
{
    public NativeConnectTests() =>
        HostCapabilities.Require(HostCapabilities.NativeConnect, "the native connect path (Linux with epoll)");

    [Fact]
    public void Serialized_IPv4_endpoint_is_the_native_sockaddr_in()
    {
        SocketAddress address = new IPEndPoint(IPAddress.Loopback, 0x1F90).Serialize();
        ReadOnlySpan<byte> bytes = address.Buffer.Span[..address.Size];

        Assert.Equal(16, bytes.Length);                                                  // sizeof(struct sockaddr_in)
        Assert.Equal(2, BitConverter.ToUInt16(bytes[..2]));                              // sin_family = AF_INET, host order
        Assert.Equal(0x1F90, BinaryPrimitives.ReadUInt16BigEndian(bytes[2..4]));        // sin_port, network order
        Assert.Equal(new byte[] { 127, 0, 0, 1 }, bytes[4..8].ToArray());                // sin_addr
        Assert.True(bytes[8..16].IndexOfAnyExcept((byte)0) < 0);                        // sin_zero
    }

    [Fact]
    public void Serialized_IPv6_endpoint_is_the_native_sockaddr_in6()
    {
        SocketAddress address = new IPEndPoint(IPAddress.IPv6Loopback, 0x1F90).Serialize();
        ReadOnlySpan<byte> bytes = address.Buffer.Span[..address.Size];

        Assert.Equal(28, bytes.Length);                                                  // sizeof(struct sockaddr_in6)
        Assert.Equal(10, BitConverter.ToUInt16(bytes[..2]));                             // sin6_family = AF_INET6 (Linux)
        Assert.Equal(0x1F90, BinaryPrimitives.ReadUInt16BigEndian(bytes[2..4]));        // sin6_port, network order
        Assert.Equal(0u, BitConverter.ToUInt32(bytes[4..8]));                            // sin6_flowinfo
        Assert.Equal(IPAddress.IPv6Loopback.GetAddressBytes(), bytes[8..24].ToArray()); // sin6_addr
        Assert.Equal(0u, BitConverter.ToUInt32(bytes[24..28]));                          // sin6_scope_id
    }

    [Fact]
    public void Native_connect_reaches_an_IPv4_loopback_listener() => AssertNativeConnectReaches(IPAddress.Loopback);

    [Fact]
    public void Native_connect_reaches_an_IPv6_loopback_listener() => AssertNativeConnectReaches(IPAddress.IPv6Loopback);

    private static void AssertNativeConnectReaches(IPAddress loopback)
    {
        if (loopback.AddressFamily == AddressFamily.InterNetworkV6)
        {
            HostCapabilities.Require(HostCapabilities.IPv6Loopback, "a TCP listener on the IPv6 loopback (::1)");
        }

        AddressFamily family = loopback.AddressFamily;
        using var listener = new Socket(family, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(loopback, 0));
        listener.Listen();
        using var client = new Socket(family, SocketType.Stream, ProtocolType.Tcp) { Blocking = false };
        SocketError started = LinuxSocket.TryStartConnect(client, (IPEndPoint)listener.LocalEndPoint!);
        Assert.True(started is SocketError.Success or SocketError.InProgress, started.ToString());
        Assert.True(client.Poll(5_000_000, SelectMode.SelectWrite));
        Assert.Equal(0, (int)client.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!);
        using Socket accepted = listener.Accept();
        Assert.Equal(1, client.Send([42]));
        byte[] received = new byte[1];
        Assert.Equal(1, accepted.Receive(received));
        Assert.Equal(42, received[0]);
    }

    [Fact]
    public void Native_connect_to_a_closed_port_reports_refusal_without_throwing()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var closed = (IPEndPoint)probe.LocalEndPoint!;
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { Blocking = false };
        SocketError started = LinuxSocket.TryStartConnect(client, closed);
        if (started == SocketError.ConnectionRefused)
        {
            return; // refused at once: reported as a value, which is the point
        }

        // Usually pending even on loopback: the refusal arrives as writability plus SO_ERROR, as the session reads it.
        Assert.Equal(SocketError.InProgress, started);
        Assert.True(client.Poll(5_000_000, SelectMode.SelectWrite) || client.Poll(0, SelectMode.SelectError));
        Assert.NotEqual(0, (int)client.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!);
    }

    [Fact]
    public void A_connect_echo_exit_cycle_throws_no_exception_on_the_application_or_loop_thread()
    {
        using var server = new LoopbackEchoServer(WaitStrategy.Blocking, new SidecarBufferPool());
        var options = new SidecarOptions { WaitStrategy = WaitStrategy.Blocking };
        string loopThreadName = "FastSidecar " + server.Uri.Authority;
        int testThread = Environment.CurrentManagedThreadId;
        var thrown = new System.Collections.Concurrent.ConcurrentQueue<string>();
        void Count(object? sender, FirstChanceExceptionEventArgs e)
        {
            if (Environment.CurrentManagedThreadId == testThread || Thread.CurrentThread.Name == loopThreadName)
            {
                thrown.Enqueue(e.Exception.GetType().Name + ": " + e.Exception.Message);
            }
        }

        AppDomain.CurrentDomain.FirstChanceException += Count;
        try
        {
            for (int i = 0; i < 10; i++)
            {
                using SidecarWebSocket ws = SidecarWebSocket.Connect(server.Uri, options);
                ws.Send("ping"u8, MessageType.Text);
                ws.Receive(TimeSpan.FromSeconds(5)).Dispose();
                ws.Exit();
            }
        }
        finally
        {
            AppDomain.CurrentDomain.FirstChanceException -= Count;
        }

        Assert.Empty(thrown);
    }
}
