using System.Runtime.InteropServices;

namespace FastSidecar.Loop.Interop;

/// <summary>Pins the calling thread to one processor: <c>sched_setaffinity(2)</c> on Linux, nothing elsewhere.</summary>
/// <remarks>
/// The mask covers 1,024 processors (<c>CPU_SETSIZE</c>), the size glibc's <c>cpu_set_t</c> has; a processor index
/// outside the mask, or one the process may not run on (a container's cpuset), makes the call fail, and the caller
/// keeps running unpinned: pinning is a latency preference, never a reason to stop the loop.
/// </remarks>
internal static unsafe partial class LinuxAffinity
{
    private const int MaskWords = 1024 / 64;

    /// <summary>Pins the current thread to <paramref name="processor"/>; false when the platform or the kernel refused.</summary>
    public static bool TryPinCurrentThread(int processor)
    {
        if (!OperatingSystem.IsLinux() || processor < 0 || processor >= MaskWords * 64)
        {
            return false;
        }

        ulong* mask = stackalloc ulong[MaskWords];
        new Span<ulong>(mask, MaskWords).Clear();
        mask[processor / 64] = 1UL << (processor % 64);
        return sched_setaffinity(0, MaskWords * sizeof(ulong), mask) == 0; // pid 0: the calling thread
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int sched_setaffinity(int pid, nuint cpusetsize, ulong* mask);
}
