using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace FastSidecar.Loop.Interop;

/// <summary>
/// A non-blocking TCP connect without the exception: <c>connect(2)</c> on the socket's own descriptor, where the
/// pending case (<c>EINPROGRESS</c>) is a return value rather than a thrown <see cref="SocketException"/>.
/// </summary>
/// <remarks>
/// <para>
/// Why: <see cref="Socket.Connect(EndPoint)"/> on a non-blocking socket reports "in progress" by throwing, so every
/// connection paid for one exception (stack trace capture and unwinding on the loop thread) on its normal path.
/// </para>
/// <para>
/// Audit notes. The address is <see cref="IPEndPoint.Serialize"/>'s buffer, which on Linux is the native
/// <c>sockaddr_in</c>/<c>sockaddr_in6</c> byte for byte (a test pins this for IPv4 and IPv6). The descriptor is used
/// under an add-ref on the socket's SafeHandle, so a concurrent dispose cannot close and recycle the number mid-call.
/// errno is read with <see cref="Marshal.GetLastPInvokeError"/> right after the call. The errno values are the
/// generic Linux ones, the same on every architecture <see cref="LinuxEpoll.IsSupported"/> admits. The socket object
/// does not learn that it was connected this way; the session never asks it (it reads SO_ERROR when writable, and
/// sends and receives through calls that do not check), so nothing depends on that.
/// </para>
/// </remarks>
internal static unsafe partial class LinuxSocket
{
    private const int Einprogress = 115;
    private const int Eintr = 4;

    /// <summary>True where <see cref="TryStartConnect"/> may be used; elsewhere callers keep the portable path.</summary>
    public static bool IsSupported => LinuxEpoll.IsSupported;

    /// <summary>
    /// Starts connecting the non-blocking <paramref name="socket"/> to <paramref name="endPoint"/>.
    /// <see cref="SocketError.Success"/>: connected already; <see cref="SocketError.InProgress"/>: pending, wait for
    /// writability and read SO_ERROR; anything else: failed at once.
    /// </summary>
    public static SocketError TryStartConnect(Socket socket, IPEndPoint endPoint)
    {
        SocketAddress address = endPoint.Serialize();
        bool added = false;
        SafeHandle handle = socket.SafeHandle;
        try
        {
            handle.DangerousAddRef(ref added);
            int descriptor = (int)handle.DangerousGetHandle();
            Span<byte> native = address.Buffer.Span[..address.Size];
            int result;
            int errno;
            fixed (byte* pointer = native)
            {
                // A signal before the connection is queued leaves nothing started (POSIX); retrying is then correct.
                do
                {
                    result = Connect(descriptor, pointer, (uint)native.Length);
                    errno = result == 0 ? 0 : Marshal.GetLastPInvokeError();
                }
                while (result != 0 && errno == Eintr);
            }

            return result == 0 ? SocketError.Success : ToSocketError(errno);
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    private static SocketError ToSocketError(int errno) => errno switch
    {
        Einprogress => SocketError.InProgress,
        11 => SocketError.WouldBlock,            // EAGAIN: no ephemeral port free
        13 or 1 => SocketError.AccessDenied,      // EACCES, EPERM (a firewall rule)
        98 => SocketError.AddressAlreadyInUse,    // EADDRINUSE
        99 => SocketError.AddressNotAvailable,    // EADDRNOTAVAIL
        101 => SocketError.NetworkUnreachable,    // ENETUNREACH
        104 => SocketError.ConnectionReset,       // ECONNRESET
        110 => SocketError.TimedOut,              // ETIMEDOUT
        111 => SocketError.ConnectionRefused,     // ECONNREFUSED
        113 => SocketError.HostUnreachable,       // EHOSTUNREACH
        _ => SocketError.SocketError,
    };

    [LibraryImport("libc", EntryPoint = "connect", SetLastError = true)]
    private static partial int Connect(int descriptor, byte* address, uint addressLength);
}
