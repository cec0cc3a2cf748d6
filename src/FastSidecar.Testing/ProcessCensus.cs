namespace FastSidecar.Testing;

/// <summary>
/// What a leak would leave behind in this process, counted from the process itself: the one census of the leak tests,
/// the CLI's <c>reinit</c> command and the stress runner.
/// </summary>
/// <param name="SidecarThreads">Threads whose name starts with "FastSidecar" (Linux keeps 15 characters of it in comm); -1 without procfs.</param>
/// <param name="OpenFileDescriptors">Entries of /proc/self/fd; -1 without procfs.</param>
/// <param name="LiveLoops"><see cref="SidecarLoop.LiveLoops"/>.</param>
/// <param name="LiveConnections"><see cref="SidecarDiagnostics.LiveConnections"/>.</param>
/// <param name="LiveHeapBytes">Managed heap after full blocking compacting collections, minus fragmentation.</param>
internal readonly record struct ProcessCensus(int SidecarThreads, int OpenFileDescriptors, int LiveLoops, int LiveConnections, long LiveHeapBytes)
{
    /// <summary>Whether the thread and descriptor counts can be read here (they come from procfs).</summary>
    public static bool HasProcFs => Directory.Exists("/proc/self/task") && Directory.Exists("/proc/self/fd");

    public static ProcessCensus Take()
    {
        // GC.GetTotalMemory drifts by megabytes under the regions GC; the last full blocking collection's figures do not.
        for (int i = 0; i < 3; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        GCMemoryInfo info = GC.GetGCMemoryInfo(GCKind.FullBlocking);
        return new ProcessCensus(CountSidecarThreads(), CountFileDescriptors(), SidecarLoop.LiveLoops, SidecarDiagnostics.LiveConnections,
            info.HeapSizeBytes - info.FragmentedBytes);
    }

    /// <summary>What each open descriptor points at (socket:[inode], anon_inode:[eventpoll], a path...), to name a leak.</summary>
    public static Dictionary<string, string> DescribeFileDescriptors()
    {
        var targets = new Dictionary<string, string>();
        if (!HasProcFs)
        {
            return targets;
        }

        foreach (string entry in Directory.GetFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                targets[Path.GetFileName(entry)] = new FileInfo(entry).LinkTarget ?? "?";
            }
            catch (IOException)
            {
                // Closed while we looked (including the directory handle of this very listing).
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return targets;
    }

    /// <summary>Descriptors open in <paramref name="after"/> that were not open, or pointed elsewhere, in <paramref name="before"/>.</summary>
    public static List<string> NewDescriptors(Dictionary<string, string> before, Dictionary<string, string> after) =>
        [.. after.Where(a => !before.TryGetValue(a.Key, out string? target) || target != a.Value)
            .OrderBy(a => int.TryParse(a.Key, out int fd) ? fd : int.MaxValue)
            .Select(a => $"fd {a.Key} → {a.Value}")];

    private static int CountFileDescriptors() => HasProcFs ? Directory.GetFileSystemEntries("/proc/self/fd").Length : -1;

    private static int CountSidecarThreads()
    {
        if (!HasProcFs)
        {
            return -1;
        }

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
                // The thread ended between listing and reading.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return count;
    }
}
