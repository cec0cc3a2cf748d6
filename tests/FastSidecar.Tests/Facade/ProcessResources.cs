using System.Diagnostics;

namespace FastSidecar.Tests.Facade;

/// <summary>Counts of what a leak would leave behind, read from the process itself.</summary>
internal readonly record struct ProcessResources(int OpenFileDescriptors, int SidecarThreads, int LiveLoops, int LiveConnections, long LiveHeapBytes)
{
    public static ProcessResources Measure()
    {
        // A full blocking, compacting collection so the heap size reflects what is reachable, not what is pending.
        for (int i = 0; i < 3; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        GCMemoryInfo info = GC.GetGCMemoryInfo(GCKind.FullBlocking);
        return new ProcessResources(CountFileDescriptors(), CountSidecarThreads(), SidecarLoop.LiveLoops, SidecarDiagnostics.LiveConnections, info.HeapSizeBytes - info.FragmentedBytes);
    }

    private static int CountFileDescriptors() => Directory.GetFiles("/proc/self/fd").Length;

    /// <summary>Loop threads by name (Linux keeps the first 15 characters of a thread name in comm).</summary>
    private static int CountSidecarThreads()
    {
        int count = 0;
        foreach (string task in Directory.GetDirectories("/proc/self/task"))
        {
            try
            {
                if (File.ReadAllText(Path.Combine(task, "comm")).StartsWith("FastSidecar", StringComparison.Ordinal))
                {
                    count++;
                }
            }
            catch (IOException)
            {
                // The thread ended while we looked.
            }
        }

        return count;
    }

    /// <summary>Waits (bounded) for a condition that settles asynchronously, such as a server session closing after its client.</summary>
    public static bool Settle(Func<bool> condition, TimeSpan timeout) => SpinWait.SpinUntil(condition, timeout);
}
