using System.Globalization;
using HdrHistogram;
using ScottPlot;

namespace FastSidecar.Benchmarks.Stress;

/// <summary>
/// Percentile curves: x is the percentile on a log scale of 1/(1-p) (so 90 %, 99 %, 99.9 % are evenly spaced), y is
/// the latency in microseconds on a log scale, one line per contender.
/// </summary>
internal static class LatencyPlot
{
    private static readonly Color[] s_palette =
    [
        Color.FromHex("#000000"), Color.FromHex("#7f7f7f"), Color.FromHex("#d62728"), Color.FromHex("#ff7f0e"),
        Color.FromHex("#9467bd"), Color.FromHex("#1f77b4"), Color.FromHex("#2ca02c"), Color.FromHex("#8c564b"),
    ];

    public static void Save(string path, string title, IReadOnlyList<(string Name, HistogramBase Histogram)> series)
    {
        var plot = new Plot();
        double maxX = 0;
        double minY = double.MaxValue;
        double maxY = 0;
        for (int s = 0; s < series.Count; s++)
        {
            (string name, HistogramBase histogram) = series[s];
            if (histogram.TotalCount == 0)
            {
                continue;
            }

            // Steps of 1/20 decade up to the percentile the sample size can still resolve, then the maximum.
            double lastX = Math.Log10(histogram.TotalCount);
            var xs = new List<double>();
            var ys = new List<double>();
            for (int k = 0; k / 20.0 < lastX; k++)
            {
                double x = k / 20.0;
                double percentile = 100 * (1 - Math.Pow(10, -x));
                xs.Add(x);
                ys.Add(Math.Log10(LatencySummary.ToMicroseconds(histogram.GetValueAtPercentile(percentile))));
            }

            xs.Add(lastX);
            ys.Add(Math.Log10(LatencySummary.ToMicroseconds(histogram.GetMaxValue())));
            maxX = Math.Max(maxX, lastX);
            minY = Math.Min(minY, ys.Min());
            maxY = Math.Max(maxY, ys.Max());

            var line = plot.Add.ScatterLine(xs.ToArray(), ys.ToArray());
            line.LegendText = name;
            line.LineWidth = 2;
            line.Color = s_palette[s % s_palette.Length];
        }

        var xTicks = new ScottPlot.TickGenerators.NumericManual();
        foreach ((double x, string label) in new[] { (0.0, "0%"), (Math.Log10(2), "50%"), (1.0, "90%"), (2.0, "99%"), (3.0, "99.9%"), (4.0, "99.99%"), (5.0, "99.999%"), (6.0, "99.9999%") })
        {
            if (x <= maxX + 0.01)
            {
                xTicks.AddMajor(x, label);
            }
        }

        plot.Axes.Bottom.TickGenerator = xTicks;
        var yTicks = new ScottPlot.TickGenerators.NumericManual();
        for (int decade = (int)Math.Floor(minY) - 1; decade <= (int)Math.Ceiling(maxY) + 1; decade++)
        {
            foreach (int mantissa in new[] { 1, 2, 5 })
            {
                double value = mantissa * Math.Pow(10, decade);
                double y = Math.Log10(value);
                if (y >= minY - 0.3 && y <= maxY + 0.3)
                {
                    yTicks.AddMajor(y, value.ToString("0.###", CultureInfo.InvariantCulture));
                }
            }
        }

        plot.Axes.Left.TickGenerator = yTicks;
        plot.Axes.SetLimits(0, maxX + 0.05, minY - 0.1, maxY + 0.1);
        plot.Title(title);
        plot.XLabel("percentile (log scale of 1/(1-p))");
        plot.YLabel("round trip (µs, log scale)");
        plot.ShowLegend(Alignment.UpperLeft);
        plot.SavePng(path, 1200, 750);
    }
}
