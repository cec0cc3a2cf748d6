using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;
using System.Text;

namespace FastSidecar.Benchmarks.Throughput;

/// <summary>
/// Names what a run allocates: the runtime's allocation-tick events (one per about 100 KB allocated, with the type of
/// the object that crossed the mark), counted per type. The listener allocates per event too, so its own figures
/// show up a little in the bytes per message while it runs; use it to find a source, not to measure.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private readonly ConcurrentDictionary<string, int> _ticks = new();

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(source, EventLevel.Verbose, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.EventName is not { } name || !name.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.PayloadNames is null)
        {
            return;
        }

        int index = e.PayloadNames.IndexOf("TypeName");
        string type = index >= 0 && e.Payload?[index] is string t ? t : "?";
        _ticks.AddOrUpdate(type, 1, static (_, n) => n + 1);
    }

    /// <summary>The types sampled, most ticks first (each tick stands for about 100 KB).</summary>
    public string Report()
    {
        var text = new StringBuilder();
        text.AppendLine("| type at the allocation tick | ticks (≈100 KB each) |");
        text.AppendLine("| --- | --- |");
        foreach ((string type, int ticks) in _ticks.OrderByDescending(p => p.Value).Take(25))
        {
            text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| `{type}` | {ticks} |"));
        }

        return text.ToString();
    }
}
