namespace FastSidecar.Tests.LoopTests;

public sealed class LoopAffinityTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);

    [Fact]
    public void A_loop_pinned_to_a_processor_runs_only_there()
    {
        int processor = Environment.ProcessorCount - 1;
        using var loop = new SidecarLoop(new SidecarLoopOptions { ProcessorAffinity = processor });
        // The kernel's own view of the loop thread, read on that thread: which processors it may run on.
        string allowed = loop.Invoke(() => ValueTask.FromResult(CpusAllowedList()), Generous);
        if (!OperatingSystem.IsLinux())
        {
            Assert.False(loop.IsPinned);
            return;
        }

        Assert.True(loop.IsPinned);
        Assert.Equal(processor.ToString(System.Globalization.CultureInfo.InvariantCulture), allowed);
    }

    [Fact]
    public void A_loop_without_affinity_is_not_pinned_and_a_negative_processor_is_refused()
    {
        using var loop = new SidecarLoop();
        Assert.Equal(1, loop.Invoke(() => ValueTask.FromResult(1), Generous));
        Assert.False(loop.IsPinned);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SidecarLoop(new SidecarLoopOptions { ProcessorAffinity = -1 }));
    }

    private static string CpusAllowedList()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "";
        }

        foreach (string line in File.ReadLines("/proc/thread-self/status"))
        {
            if (line.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal))
            {
                return line["Cpus_allowed_list:".Length..].Trim();
            }
        }

        return "";
    }
}
