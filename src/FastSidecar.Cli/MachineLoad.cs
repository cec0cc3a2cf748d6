using System.Globalization;

namespace FastSidecar.Cli;

/// <summary>
/// The one-minute load average against the core count: on a machine busier than its cores, every contender of a
/// latency comparison waits for a core now and then, and the ratios swing from run to run.
/// </summary>
internal static class MachineLoad
{
    /// <summary>The one-minute load average, or null where <c>/proc/loadavg</c> does not exist (not Linux).</summary>
    public static double? OneMinuteAverage()
    {
        try
        {
            string text = File.ReadAllText("/proc/loadavg");
            int space = text.IndexOf(' ', StringComparison.Ordinal);
            return double.TryParse(space > 0 ? text[..space] : text, NumberStyles.Float, CultureInfo.InvariantCulture, out double load) ? load : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>A warning line when the load is above the core count; null when it is not (or is unknown).</summary>
    public static string? Warning()
    {
        double? load = OneMinuteAverage();
        int cores = Environment.ProcessorCount;
        return load is { } l && l > cores
            ? string.Create(CultureInfo.InvariantCulture,
                $"warning: the load average ({l:0.00}) is above the core count ({cores}): other processes compete for the CPU, so latencies and ratios will swing from run to run. Rerun on a quiet machine for numbers to keep.")
            : null;
    }
}
