using System.Diagnostics;
using HdrHistogram;

namespace FastSidecar.Benchmarks.Stress;

/// <summary>Percentiles of one histogram, in microseconds. The histogram records stopwatch ticks.</summary>
internal sealed record LatencySummary(long Count, double P50, double P90, double P99, double P999, double Max, double Mean)
{
    /// <summary>Highest value a histogram can hold: 60 s in stopwatch ticks.</summary>
    public static long HighestTrackable => Stopwatch.Frequency * 60;

    public static LongHistogram NewHistogram() => new(HighestTrackable, 3);

    public static double ToMicroseconds(long ticks) => ticks * 1e6 / Stopwatch.Frequency;

    public static LatencySummary From(HistogramBase histogram) => histogram.TotalCount == 0
        ? new LatencySummary(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN)
        : new LatencySummary(histogram.TotalCount,
            ToMicroseconds(histogram.GetValueAtPercentile(50)),
            ToMicroseconds(histogram.GetValueAtPercentile(90)),
            ToMicroseconds(histogram.GetValueAtPercentile(99)),
            ToMicroseconds(histogram.GetValueAtPercentile(99.9)),
            ToMicroseconds(histogram.GetMaxValue()),
            histogram.GetMean() * 1e6 / Stopwatch.Frequency);
}
