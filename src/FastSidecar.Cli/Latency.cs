using System.Diagnostics;
using HdrHistogram;

namespace FastSidecar.Cli;

/// <summary>
/// A latency histogram in nanoseconds over HdrHistogram, with the percentiles the commands print.
/// </summary>
/// <remarks>Not thread-safe: one recording thread. Values beyond the trackable range are clamped, not thrown.</remarks>
internal sealed class Latency
{
    // 60 s in ns with 3 significant digits: covers a silent-peer close and a round trip alike at 0.1 % resolution.
    private const long Highest = 60_000_000_000;

    private readonly LongHistogram _histogram = new(Highest, 3);

    public long Count => _histogram.TotalCount;

    public void RecordTicks(long stopwatchTicks) => RecordNanoseconds(TicksToNanoseconds(stopwatchTicks));

    public void Record(TimeSpan duration) => RecordNanoseconds(duration.Ticks * 100);

    public void RecordNanoseconds(long nanoseconds) => _histogram.RecordValue(Math.Clamp(nanoseconds, 0, Highest));

    public static long TicksToNanoseconds(long ticks) =>
        Stopwatch.Frequency == 1_000_000_000 ? ticks : (long)(ticks * (1e9 / Stopwatch.Frequency));

    public Percentiles Summary() => _histogram.TotalCount == 0
        ? new Percentiles(0, 0, 0, 0, 0, 0)
        : new Percentiles(
            _histogram.TotalCount,
            Micros(_histogram.GetValueAtPercentile(50)),
            Micros(_histogram.GetValueAtPercentile(90)),
            Micros(_histogram.GetValueAtPercentile(99)),
            Micros(_histogram.GetValueAtPercentile(99.9)),
            Micros(_histogram.GetMaxValue()));

    private static double Micros(long nanoseconds) => nanoseconds / 1_000.0;
}

/// <summary>Latency percentiles in microseconds.</summary>
internal sealed record Percentiles(long Count, double P50, double P90, double P99, double P999, double Max);
