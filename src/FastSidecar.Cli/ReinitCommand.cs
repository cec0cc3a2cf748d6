using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using FastSidecar.Buffers;
using FastSidecar.Testing;
using Spectre.Console;

namespace FastSidecar.Cli;

/// <summary>
/// <c>fastsidecar reinit</c>: the reinitialisation stress loop. Each cycle connects to the embedded server (healthy or
/// faulty), exchanges a message and exits; at the end the process is searched for what a leak leaves behind.
/// </summary>
internal static class ReinitCommand
{
    // The design's budget for live managed heap growth after 10,000 cycles.
    private const long HeapBudgetBytes = 64 * 1024;

    private static readonly TimeSpan s_settleTimeout = TimeSpan.FromSeconds(10);

    private static readonly string[] s_faultNames = ["none", "reset", "silent", "midframe", "refused", "stalled", "peer-close", "mixed"];

    public static Command Create(CliEnvironment environment)
    {
        var cycles = new Option<int>("--cycles") { Description = "Connect → exchange → Exit cycles to run (after warm-up)", DefaultValueFactory = _ => 1_000 };
        var fault = new Option<string>("--fault")
        {
            Description = "What the server does: none, reset, silent, midframe, refused, stalled, peer-close, or mixed (rotates through all)",
            DefaultValueFactory = _ => "none",
        };
        fault.AcceptOnlyFromAmong(s_faultNames);
        var closeTimeout = new Option<int>("--close-timeout-ms") { Description = "SidecarOptions.CloseTimeout of each client", DefaultValueFactory = _ => 50 };
        var warmup = new Option<int>("--warmup") { Description = "Unmeasured cycles before the resource baseline", DefaultValueFactory = _ => 70 };
        var wait = new Option<WaitStrategy>("--wait-strategy") { Description = "The clients' loop wait strategy", DefaultValueFactory = _ => WaitStrategy.Blocking };
        var json = new Option<FileInfo?>("--json") { Description = "Also write the numbers to this file" };
        var command = new Command("reinit", "Reinitialisation stress: many Connect → exchange → Exit cycles, then count leaked threads, descriptors, rentals, loops and heap")
        {
            cycles, fault, closeTimeout, warmup, wait, json,
        };
        command.SetAction(parse => Run(environment, new Settings(parse.GetValue(cycles), parse.GetValue(fault)!, parse.GetValue(closeTimeout),
            parse.GetValue(warmup), parse.GetValue(wait), parse.GetValue(json))));
        return command;
    }

    private sealed record Settings(int Cycles, string Fault, int CloseTimeoutMs, int Warmup, WaitStrategy WaitStrategy, FileInfo? Json);

    private static int Run(CliEnvironment environment, Settings settings)
    {
        if (settings.Cycles < 1 || settings.Warmup < 0 || settings.CloseTimeoutMs < 0)
        {
            environment.Error.WriteLine("fastsidecar reinit: --cycles must be positive, --warmup and --close-timeout-ms not negative.");
            return ExitCodes.Usage;
        }

        Result result = Stress(environment.Progress, settings); // progress on stderr: stdout holds the results
        Print(environment.Console, settings, result);
        if (settings.Json is not null)
        {
            JsonOutput.Write(settings.Json, ToData(settings, result));
            environment.Console.MarkupLine($"numbers written to [blue]{Markup.Escape(settings.Json.FullName)}[/]");
        }

        return result.Leaks.Any ? ExitCodes.Failure : ExitCodes.Success;
    }

    private sealed record Leaks(int Threads, int FileDescriptors, long Rentals, int Loops, long HeapBytes, bool ServerSettled)
    {
        public bool HeapOverBudget => HeapBytes > HeapBudgetBytes;

        public bool Any => Threads != 0 || FileDescriptors != 0 || Rentals != 0 || Loops != 0 || HeapOverBudget || !ServerSettled;
    }

    private sealed record Result(
        int Cycles, TimeSpan Elapsed, Dictionary<string, KindCounts> Kinds, IReadOnlyList<(string Step, Percentiles Latency)> Steps,
        Percentiles ExitTotal, ProcessCensus Before, ProcessCensus After, Leaks Leaks, List<string> NewDescriptors)
    {
        public double CyclesPerSecond => Cycles / Elapsed.TotalSeconds;
    }

    /// <summary>Per kind of cycle: how far the cycles got and how long their Exit took.</summary>
    private sealed class KindCounts
    {
        public int Cycles;
        public int Connected;
        public int Exchanged;
        public Latency Exit { get; } = new();
    }

    /// <summary>Everything a cycle touches, created before the baseline so the run itself allocates nothing that lives on.</summary>
    private sealed class Rig : IDisposable
    {
        public Rig(Settings settings)
        {
            Pool = new SidecarBufferPool();
            Server = new LoopbackEchoServer(WaitStrategy.Blocking, new SidecarBufferPool());
            IReadOnlyList<string>? kinds = settings.Fault switch
            {
                "mixed" => null,
                "none" => ["echo"],
                _ => [settings.Fault],
            };
            Rotation = new FaultRotation(Server, Pool, TimeSpan.FromMilliseconds(settings.CloseTimeoutMs), settings.WaitStrategy, kinds);
            Counts = Rotation.Kinds.ToDictionary(k => k, _ => new KindCounts());
        }

        public SidecarBufferPool Pool { get; }

        public LoopbackEchoServer Server { get; }

        public FaultRotation Rotation { get; }

        public Dictionary<string, KindCounts> Counts { get; }

        public Dictionary<string, Latency> StepLatency { get; } = [];

        public List<string> StepOrder { get; } = [];

        public Latency ExitTotal { get; } = new();

        public bool Recording { get; set; }

        public void Dispose()
        {
            Rotation.Dispose();
            Server.Dispose();
        }
    }

    private static void RunCycle(Rig rig, int cycle)
    {
        FaultCycle result = rig.Rotation.RunCycle(cycle);
        KindCounts counts = rig.Counts[result.Kind];
        if (rig.Recording)
        {
            counts.Cycles++;
        }

        if (result.Report is not { } report)
        {
            return; // refused, stalled: Connect already ran Exit on the attempt
        }

        if (rig.Recording)
        {
            counts.Connected++;
            counts.Exchanged += result.Exchanged ? 1 : 0;
            counts.Exit.Record(report.Total);
            rig.ExitTotal.Record(report.Total);
        }

        foreach (ShutdownStep step in report.Steps)
        {
            if (!rig.StepLatency.TryGetValue(step.Name, out Latency? latency))
            {
                // First seen during warm-up, so the baseline already holds the histogram.
                latency = new Latency();
                rig.StepLatency.Add(step.Name, latency);
                rig.StepOrder.Add(step.Name);
            }

            if (rig.Recording)
            {
                latency.Record(step.Duration);
            }
        }
    }

    private static Result Stress(IAnsiConsole console, Settings settings)
    {
        using var rig = new Rig(settings);
        ProcessCensus before = default;
        ProcessCensus after = default;
        bool settled = false;
        Dictionary<string, string> descriptorsBefore = [];
        Dictionary<string, string> descriptorsAfter = [];
        TimeSpan elapsed = TimeSpan.Zero;

        // Rendered only where this thread asks (AutoRefresh off): the display then never renders, nor loads what its
        // first render loads, between the two censuses on a timer of its own.
        console.Progress()
            .AutoClear(false)
            .AutoRefresh(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                // Warm-up and both censuses run inside the progress display, so its own rendering state is already in
                // the baseline and does not count as growth.
                ProgressTask warm = context.AddTask("warm-up", maxValue: Math.Max(1, settings.Warmup));
                var display = new DisplayClock(context);
                for (int i = 0; i < settings.Warmup; i++)
                {
                    RunCycle(rig, i);
                    warm.Increment(1);
                    display.RefreshIfDue();
                }

                warm.Value = warm.MaxValue;
                ProgressTask run = context.AddTask($"{settings.Cycles:N0} cycles, fault {settings.Fault}", maxValue: settings.Cycles);
                // Everything the display loads once and keeps (the terminal's capabilities and a Unicode width table,
                // about 180 KB, and what its time columns' format needs) is loaded here, before the baseline, so that
                // the census counts the connections' growth and not the display's.
                DisplayClock.LoadTimeFormats();
                context.Refresh();
                SettleServer(rig.Server);
                descriptorsBefore = ProcessCensus.DescribeFileDescriptors();
                before = ProcessCensus.Take();

                rig.Recording = true;
                long start = Stopwatch.GetTimestamp();
                for (int i = 0; i < settings.Cycles; i++)
                {
                    RunCycle(rig, settings.Warmup + i);
                    run.Increment(1);
                    display.RefreshIfDue();
                }

                elapsed = Stopwatch.GetElapsedTime(start); // the final render below is not the cycles' time
                context.Refresh();
                rig.Recording = false;
                settled = SettleServer(rig.Server);
                after = ProcessCensus.Take();
                descriptorsAfter = ProcessCensus.DescribeFileDescriptors();
            });

        var leaks = new Leaks(
            after.SidecarThreads - before.SidecarThreads,
            after.OpenFileDescriptors - before.OpenFileDescriptors,
            rig.Pool.Outstanding,
            after.LiveLoops - before.LiveLoops,
            after.LiveHeapBytes - before.LiveHeapBytes,
            settled);
        var steps = rig.StepOrder.Select(name => (name, rig.StepLatency[name].Summary())).ToList();
        return new Result(settings.Cycles, elapsed, rig.Counts, steps, rig.ExitTotal.Summary(), before, after, leaks,
            ProcessCensus.NewDescriptors(descriptorsBefore, descriptorsAfter));
    }

    /// <summary>Renders the progress display about ten times a second, on the thread that runs the cycles.</summary>
    private sealed class DisplayClock(ProgressContext context)
    {
        private static readonly long s_period = Stopwatch.Frequency / 10;
        private long _next = Stopwatch.GetTimestamp() + s_period;

        public void RefreshIfDue()
        {
            long now = Stopwatch.GetTimestamp();
            if (now >= _next)
            {
                _next = now + s_period;
                context.Refresh();
            }
        }

        /// <summary>Formats a time the way the elapsed and remaining columns do, which loads the culture's time formats.</summary>
        public static void LoadTimeFormats() => _ = $"{TimeSpan.FromSeconds(1):hh\\:mm\\:ss}";
    }

    private static bool SettleServer(LoopbackEchoServer server) => SpinWait.SpinUntil(() => server.LiveSessions == 0, s_settleTimeout);

    private static void Print(IAnsiConsole console, Settings settings, Result result)
    {
        var exit = new Table { Title = new TableTitle(string.Create(CultureInfo.InvariantCulture, $"Exit latency (µs), {result.ExitTotal.Count:N0} exits")) }
            .AddColumn("step");
        foreach (string column in new[] { "count", "p50", "p90", "p99", "p99.9", "max" })
        {
            exit.AddColumn(new TableColumn(column).RightAligned());
        }

        foreach ((string step, Percentiles latency) in result.Steps)
        {
            AddPercentiles(exit, Markup.Escape(step), latency);
        }

        AddPercentiles(exit, "[bold]total[/]", result.ExitTotal);
        console.Write(exit);

        var kinds = new Table { Title = new TableTitle("Cycles by kind") }
            .AddColumn("kind")
            .AddColumn(new TableColumn("cycles").RightAligned())
            .AddColumn(new TableColumn("connected").RightAligned())
            .AddColumn(new TableColumn("echo received").RightAligned())
            .AddColumn(new TableColumn("Exit p50 (µs)").RightAligned())
            .AddColumn(new TableColumn("Exit p99 (µs)").RightAligned());
        foreach ((string kind, KindCounts counts) in result.Kinds)
        {
            Percentiles p = counts.Exit.Summary();
            kinds.AddRow(kind, Number(counts.Cycles), Number(counts.Connected), Number(counts.Exchanged),
                counts.Connected > 0 ? Micros(p.P50) : "-", counts.Connected > 0 ? Micros(p.P99) : "-");
        }

        kinds.Caption = new TableTitle(string.Create(CultureInfo.InvariantCulture,
            $"{result.Cycles:N0} cycles in {result.Elapsed.TotalSeconds:0.00} s: {result.CyclesPerSecond:N0} cycles/s (close timeout {settings.CloseTimeoutMs} ms, {settings.WaitStrategy} loops)"));
        console.Write(kinds);

        Leaks leaks = result.Leaks;
        var census = new Table { Title = new TableTitle("Leaks (after warm-up and settling, before → after)") }
            .AddColumn("resource")
            .AddColumn(new TableColumn("before").RightAligned())
            .AddColumn(new TableColumn("after").RightAligned())
            .AddColumn(new TableColumn("leaked").RightAligned());
        census.AddRow("FastSidecar threads", Number(result.Before.SidecarThreads), Number(result.After.SidecarThreads), Verdict(leaks.Threads != 0, Number(leaks.Threads)));
        census.AddRow("open file descriptors", Number(result.Before.OpenFileDescriptors), Number(result.After.OpenFileDescriptors), Verdict(leaks.FileDescriptors != 0, Number(leaks.FileDescriptors)));
        census.AddRow("pool rentals outstanding", "-", Number(leaks.Rentals), Verdict(leaks.Rentals != 0, Number(leaks.Rentals)));
        census.AddRow("SidecarLoop.LiveLoops", Number(result.Before.LiveLoops), Number(result.After.LiveLoops), Verdict(leaks.Loops != 0, Number(leaks.Loops)));
        census.AddRow("live managed heap", Bytes(result.Before.LiveHeapBytes), Bytes(result.After.LiveHeapBytes),
            Verdict(leaks.HeapOverBudget, $"{leaks.HeapBytes:+#,0;-#,0;0} B (budget {HeapBudgetBytes / 1024} KB)"));
        census.AddRow("server sessions settled", "-", leaks.ServerSettled ? "yes" : "no", Verdict(!leaks.ServerSettled, leaks.ServerSettled ? "0" : "sessions open"));
        console.Write(census);
        if (leaks.FileDescriptors != 0 && result.NewDescriptors.Count > 0)
        {
            console.MarkupLine("descriptors open after the run that were not before: " + Markup.Escape(string.Join(", ", result.NewDescriptors)));
        }

        console.MarkupLine(leaks.Any ? "[red bold]LEAK: something was left behind[/]" : "[green bold]no leaks[/]");
    }

    private static void AddPercentiles(Table table, string label, Percentiles p) =>
        table.AddRow(label, Number(p.Count), Micros(p.P50), Micros(p.P90), Micros(p.P99), Micros(p.P999), Micros(p.Max));

    private static string Verdict(bool bad, string text) => bad ? $"[red]{Markup.Escape(text)}[/]" : $"[green]{Markup.Escape(text)}[/]";

    private static string Number(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string Micros(double value) => value.ToString("0.0", CultureInfo.InvariantCulture);

    private static string Bytes(long value) => value.ToString("N0", CultureInfo.InvariantCulture) + " B";

    private static ReinitData ToData(Settings settings, Result result) => new(
        settings.Cycles, settings.Fault, settings.CloseTimeoutMs, settings.WaitStrategy.ToString(), result.Elapsed.TotalSeconds, result.CyclesPerSecond,
        result.Steps.ToDictionary(s => s.Step, s => s.Latency),
        result.ExitTotal,
        result.Kinds.ToDictionary(k => k.Key, k => new KindData(k.Value.Cycles, k.Value.Connected, k.Value.Exchanged, k.Value.Exit.Summary())),
        new LeakData(result.Leaks.Threads, result.Leaks.FileDescriptors, result.Leaks.Rentals, result.Leaks.Loops, result.Leaks.HeapBytes, HeapBudgetBytes,
            result.Leaks.ServerSettled, result.Leaks.Any, result.NewDescriptors),
        result.Before,
        result.After);

    private sealed record KindData(int Cycles, int Connected, int Exchanged, Percentiles ExitMicros);

    private sealed record LeakData(int Threads, int FileDescriptors, long Rentals, int Loops, long HeapBytes, long HeapBudgetBytes, bool ServerSettled, bool Leaked, List<string> NewDescriptors);

    private sealed record ReinitData(int Cycles, string Fault, int CloseTimeoutMs, string WaitStrategy, double ElapsedSeconds, double CyclesPerSecond,
        Dictionary<string, Percentiles> ExitStepMicros, Percentiles ExitTotalMicros, Dictionary<string, KindData> Kinds, LeakData Leaks,
        ProcessCensus Before, ProcessCensus After);
}
