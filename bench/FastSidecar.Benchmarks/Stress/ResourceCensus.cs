namespace FastSidecar.Benchmarks.Stress;

/// <summary>What a leak would leave behind, counted from the process itself.</summary>
internal readonly record struct ResourceCensus(int Threads, int FileDescriptors, int LiveLoops, long LiveHeapBytes, long PoolOutstanding)
{
    /// <summary>Counts after full, blocking, compacting collections, so the heap figure is what is reachable now.</summary>
    public static ResourceCensus Take(FastSidecar.Buffers.SidecarBufferPool pool)
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        GCMemoryInfo info = GC.GetGCMemoryInfo(GCKind.FullBlocking);
        return new ResourceCensus(CountSidecarThreads(), Directory.GetFiles("/proc/self/fd").Length, SidecarLoop.LiveLoops,
            info.HeapSizeBytes - info.FragmentedBytes, pool.Outstanding);
    }

    /// <summary>Threads whose name starts with "FastSidecar" (Linux keeps the first 15 characters in comm).</summary>
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
}
