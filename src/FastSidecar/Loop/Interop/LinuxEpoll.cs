using System.Runtime.InteropServices;

namespace FastSidecar.Loop.Interop;

/// <summary>
/// The complete native surface of the loop: seven libc calls, all source-generated (<see cref="LibraryImportAttribute"/>).
/// </summary>
/// <remarks>
/// Audit notes. Descriptors that the loop creates come back as <see cref="FileDescriptorHandle"/> so they are closed
/// on every path, including a constructor that fails half-way. Socket descriptors are not ours: the callers pass the
/// number while holding an add-ref on the socket's own SafeHandle. errno is read with
/// <see cref="Marshal.GetLastPInvokeError"/> right after each call (SetLastError = true). Constants are the
/// generic Linux values, identical on x86, x64, Arm and Arm64 (the architectures <see cref="IsSupported"/> admits).
/// <c>struct epoll_event</c> is packed (12 bytes, data at offset 4) on x86 and x64 and naturally aligned (16 bytes,
/// data at offset 8) elsewhere; <see cref="EventSize"/> and <see cref="EventDataOffset"/> carry the difference.
/// </remarks>
internal static unsafe partial class LinuxEpoll
{
    private const string Libc = "libc";

    public const int EpollCloexec = 0x80000;       // EPOLL_CLOEXEC == O_CLOEXEC
    public const int EfdNonblock = 0x800;          // EFD_NONBLOCK == O_NONBLOCK
    public const int EfdCloexec = 0x80000;         // EFD_CLOEXEC == O_CLOEXEC
    public const int CtlAdd = 1;                   // EPOLL_CTL_ADD
    public const int CtlDel = 2;                   // EPOLL_CTL_DEL
    public const int CtlMod = 3;                   // EPOLL_CTL_MOD
    public const uint EpollIn = 0x001;
    public const uint EpollOut = 0x004;
    public const uint EpollErr = 0x008;
    public const uint EpollHup = 0x010;
    public const int Eintr = 4;
    public const int Ebadf = 9;
    public const int Enoent = 2;

    public static bool IsSupported =>
        OperatingSystem.IsLinux() &&
        RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64 or Architecture.X86 or Architecture.Arm;

    private static bool IsPacked => RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86;

    public static int EventSize => IsPacked ? 12 : 16;

    public static int EventDataOffset => IsPacked ? 4 : 8;

    [LibraryImport(Libc, EntryPoint = "epoll_create1", SetLastError = true)]
    public static partial FileDescriptorHandle EpollCreate1(int flags);

    [LibraryImport(Libc, EntryPoint = "epoll_ctl", SetLastError = true)]
    public static partial int EpollCtl(FileDescriptorHandle epoll, int op, int fd, byte* ev);

    [LibraryImport(Libc, EntryPoint = "epoll_wait", SetLastError = true)]
    public static partial int EpollWait(FileDescriptorHandle epoll, byte* events, int maxEvents, int timeoutMilliseconds);

    [LibraryImport(Libc, EntryPoint = "eventfd", SetLastError = true)]
    public static partial FileDescriptorHandle EventFd(uint initialValue, int flags);

    [LibraryImport(Libc, EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(FileDescriptorHandle fd, void* buffer, nuint count);

    [LibraryImport(Libc, EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(FileDescriptorHandle fd, void* buffer, nuint count);

    /// <summary>Only <see cref="FileDescriptorHandle.ReleaseHandle"/> calls this. EINTR is not retried: on Linux the descriptor is released even then.</summary>
    [LibraryImport(Libc, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    /// <summary>Writes one <c>struct epoll_event</c> at <paramref name="destination"/>.</summary>
    public static void WriteEvent(byte* destination, uint events, ulong data)
    {
        *(uint*)destination = events;
        // Unaligned on x64 (offset 4); x64 allows it, and elsewhere the offset is 8 and aligned.
        *(ulong*)(destination + EventDataOffset) = data;
    }
}
