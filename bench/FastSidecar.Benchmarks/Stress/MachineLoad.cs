namespace FastSidecar.Benchmarks.Stress;

/// <summary>The load averages (1, 5, 15 min) from /proc/loadavg, noted next to every result: the machine is shared.</summary>
internal static class MachineLoad
{
    public static string Now()
    {
        try
        {
            string[] parts = File.ReadAllText("/proc/loadavg").Split(' ');
            return $"{parts[0]} {parts[1]} {parts[2]}";
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
