using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using FastSidecar.Benchmarks.Contenders;
using FastSidecar.Benchmarks.Peers;
using FastSidecar.Testing;
using HdrHistogram;

namespace FastSidecar.Benchmarks.Stress;

/// <summary>
/// The end-to-end runner: <c>stress [options]</c>. Runs the sections in one process against one echo server, then
/// writes stress.json, stress.md and the latency plots into the output directory.
/// </summary>
internal static class StressRunner
{
    private static readonly JsonSerializerOptions s_json = new()
    {
        WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static int Run(ReadOnlySpan<string> args)
    {
        StressSettings settings = StressSettings.Parse(args);
        Directory.CreateDirectory(settings.OutputDirectory);
        var results = new Dictionary<string, object>
        {
            ["settings"] = settings,
            ["machine"] = new
            {
                Environment.ProcessorCount,
                Runtime = RuntimeInformation.FrameworkDescription,
                Os = RuntimeInformation.OSDescription,
                LoadAtStart = MachineLoad.Now(),
                Started = DateTimeOffset.UtcNow,
            },
        };
        var markdown = new StringBuilder();
        markdown.AppendLine("# Stress run").AppendLine();
        markdown.AppendLine(Invariant($"Command: `dotnet run -c Release --project bench/FastSidecar.Benchmarks -- stress {string.Join(' ', args.ToArray())}`  "));
        markdown.AppendLine(Invariant($"{RuntimeInformation.FrameworkDescription}, {Environment.ProcessorCount} cores, started {DateTimeOffset.UtcNow:u}, load average at start {MachineLoad.Now()}.")).AppendLine();

        LoopbackEchoServer server = SharedEchoServer.Instance;
        try
        {
            if (settings.Sections.Contains("roundtrip"))
            {
                Console.WriteLine($"(a) round trips: {settings.RoundTrips} per contender and peer, blocks of {settings.BlockSize}");
                using var peers = new EchoPeers();
                Dictionary<(string Peer, ContenderKind Kind), LongHistogram> histograms = RoundTripStress.Run(settings, peers.All);
                string load = MachineLoad.Now();
                var summaries = histograms.ToDictionary(p => $"{p.Key.Kind} vs {p.Key.Peer}", p => LatencySummary.From(p.Value));
                results["roundTrip"] = new { Summaries = summaries, LoadAtEnd = load };
                if (settings.OnlyContenders is null && settings.OnlyPeers is null)
                {
                    RoundTripReport.Write(markdown, peers.All.Select(p => p.Name).ToList(), histograms.ToDictionary(p => p.Key, p => LatencySummary.From(p.Value)), load);
                }
                else
                {
                    foreach ((string name, LatencySummary x) in summaries)
                    {
                        Console.WriteLine(Invariant($"  {name}: p50 {x.P50:0.0} µs, p99 {x.P99:0.0} µs"));
                    }
                }

                LatencyPlot.Save(Path.Combine(settings.OutputDirectory, "roundtrip-latency.png"),
                    Invariant($"64-byte echo round trip, {settings.RoundTrips:N0} per contender, against the blocking server (load {load})"),
                    histograms.Where(p => p.Key.Peer == "blocking server").Select(p => (p.Key.Kind.ToString(), (HistogramBase)p.Value)).ToList());
                Flush(settings, results, markdown);
            }

            if (settings.Sections.Contains("seed"))
            {
                Console.WriteLine($"(f) the seed's use: {settings.SeedMessages} × (20 µs work, send 64 B, take replies without waiting) per contender and peer");
                using var peers = new EchoPeers();
                SeedUseStress.Result seed = SeedUseStress.Run(settings, peers.All);
                results["seedUse"] = seed;
                RoundTripReport.WriteSeedUse(markdown, seed);
                Flush(settings, results, markdown);
            }

            if (settings.Sections.Contains("exit"))
            {
                Console.WriteLine("(b) exit latency");
                (ExitStress.Result exit, Dictionary<string, LongHistogram> histograms) = ExitStress.Run(settings, server);
                results["exit"] = exit;
                WriteExit(markdown, exit, settings);
                LatencyPlot.Save(Path.Combine(settings.OutputDirectory, "exit-latency.png"),
                    Invariant($"Exit (responsive and silent peer) vs ClientWebSocket CloseAsync (load {exit.Load})"),
                    histograms.Select(p => (p.Key, (HistogramBase)p.Value)).ToList());
                Flush(settings, results, markdown);
            }

            if (settings.Sections.Contains("reinit"))
            {
                Console.WriteLine($"(c) reinitialisation: {settings.ReinitCycles} cycles with faults");
                ReinitStress.Result reinit = ReinitStress.Run(settings, server);
                results["reinit"] = reinit;
                WriteReinit(markdown, reinit);
                Flush(settings, results, markdown);
            }

            if (settings.Sections.Contains("starvation"))
            {
                Console.WriteLine("(d) thread-pool starvation");
                (StarvationStress.Result starvation, Dictionary<string, LongHistogram> histograms) = StarvationStress.Run(settings, server.Uri);
                results["starvation"] = starvation;
                WriteStarvation(markdown, starvation);
                LatencyPlot.Save(Path.Combine(settings.OutputDirectory, "starvation-latency.png"),
                    Invariant($"Round trip with the thread pool free and starved (load {starvation.Load})"),
                    histograms.Select(p => (p.Key, (HistogramBase)p.Value)).ToList());
                Flush(settings, results, markdown);
            }

            if (settings.Sections.Contains("flood"))
            {
                Console.WriteLine($"(e) flood receive check: {settings.FloodMessages} messages of 64 B and of 1 KiB");
                var flood = new[]
                {
                    FloodCheck.Run(server, 64, settings.FloodMessages),
                    FloodCheck.Run(server, 64, settings.FloodMessages, ownPool: true),
                    FloodCheck.Run(server, 1024, settings.FloodMessages),
                };
                results["flood"] = flood;
                markdown.AppendLine("## (e) Flood receive check").AppendLine();
                markdown.AppendLine("The client uses the pool the server uses (SidecarBufferPool.Shared) unless the first column says it has a pool of its own.").AppendLine();
                markdown.AppendLine("| client pool | size | requested | received | msg/s | stalls (Receive timed out after 5 s) | state at stall |");
                markdown.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | --- |");
                foreach (FloodCheck.Result f in flood)
                {
                    markdown.AppendLine(Invariant($"| {(f.OwnPool ? "own" : "shared with server")} | {f.MessageSize} | {f.Requested:N0} | {f.Received:N0} | {f.MessagesPerSecond:N0} | {f.Stalls} | {string.Join("; ", f.StallStates)} |"));
                }

                markdown.AppendLine().AppendLine(Invariant($"Load average at the end: {flood[^1].Load}.")).AppendLine();
                Flush(settings, results, markdown);
            }
        }
        finally
        {
            server.Dispose();
        }

        Console.WriteLine($"Results in {settings.OutputDirectory}");
        return 0;
    }

    private static void Flush(StressSettings settings, Dictionary<string, object> results, StringBuilder markdown)
    {
        File.WriteAllText(Path.Combine(settings.OutputDirectory, "stress.json"), JsonSerializer.Serialize(results, s_json));
        File.WriteAllText(Path.Combine(settings.OutputDirectory, "stress.md"), markdown.ToString());
    }

    private static void WriteExit(StringBuilder md, ExitStress.Result exit, StressSettings settings)
    {
        md.AppendLine("## (b) Exit latency (µs)").AppendLine();
        md.AppendLine(Invariant($"Responsive peer, {settings.ExitCycles} cycles each, interleaved; load average at the end: {exit.Load}.")).AppendLine();
        md.AppendLine("| what | count | p50 | p90 | p99 | p99.9 | max |");
        md.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach ((string name, LatencySummary s) in exit.Responsive)
        {
            md.AppendLine(Invariant($"| {name} | {s.Count:N0} | {s.P50:0.0} | {s.P90:0.0} | {s.P99:0.0} | {s.P999:0.0} | {s.Max:0.0} |"));
        }

        LatencySummary silent = exit.SilentTotal;
        md.AppendLine(Invariant($"| Sidecar Exit, silent peer (CloseTimeout {exit.SilentCloseTimeoutMs:0} ms) | {silent.Count:N0} | {silent.P50:0.0} | {silent.P90:0.0} | {silent.P99:0.0} | {silent.P999:0.0} | {silent.Max:0.0} |"));
        md.AppendLine().AppendLine(Invariant($"Silent peer: {exit.SilentOverBound} of {silent.Count} exits took longer than CloseTimeout + 5 ms (worst {exit.SilentWorstMs:0.00} ms)."));
        md.AppendLine(Invariant($"ClientWebSocket CloseAsync on the same silent peer: {exit.ClientWebSocketSilentClose}.")).AppendLine();
    }

    private static void WriteReinit(StringBuilder md, ReinitStress.Result r)
    {
        md.AppendLine("## (c) Reinitialisation").AppendLine();
        md.AppendLine(Invariant($"{r.Cycles:N0} connect → exchange → exit cycles rotating through faults ({string.Join(", ", r.Outcomes.Select(o => $"{o.Key} {o.Value}"))}), {r.MixedCyclesPerSecond:0} cycles/s (faults include 50 ms timeouts). Load average at the end: {r.Load}.")).AppendLine();
        md.AppendLine("| resource | before | after | difference |");
        md.AppendLine("| --- | ---: | ---: | ---: |");
        md.AppendLine(Invariant($"| FastSidecar threads | {r.Before.SidecarThreads} | {r.After.SidecarThreads} | {r.After.SidecarThreads - r.Before.SidecarThreads} |"));
        md.AppendLine(Invariant($"| file descriptors | {r.Before.OpenFileDescriptors} | {r.After.OpenFileDescriptors} | {r.After.OpenFileDescriptors - r.Before.OpenFileDescriptors} |"));
        md.AppendLine(Invariant($"| live loops | {r.Before.LiveLoops} | {r.After.LiveLoops} | {r.After.LiveLoops - r.Before.LiveLoops} |"));
        md.AppendLine(Invariant($"| outstanding rentals (client pool) | {r.RentalsBefore} | {r.RentalsAfter} | {r.RentalsAfter - r.RentalsBefore} |"));
        md.AppendLine(Invariant($"| live managed heap (bytes) | {r.Before.LiveHeapBytes:N0} | {r.After.LiveHeapBytes:N0} | {r.After.LiveHeapBytes - r.Before.LiveHeapBytes:N0} |"));
        md.AppendLine().AppendLine(Invariant($"Server sessions left open: {r.ServerSessionsLeft}.")).AppendLine();
        md.AppendLine(Invariant($"Clean connect → close cycles ({r.CleanCycles:N0} each, alternating blocks of 100): SidecarWebSocket Connect+Exit {r.SidecarCyclesPerSecond:0}/s, ClientWebSocket ConnectAsync+CloseAsync {r.ClientWebSocketCyclesPerSecond:0}/s, ratio {r.SidecarCyclesPerSecond / r.ClientWebSocketCyclesPerSecond:0.00}.")).AppendLine();
    }

    private static void WriteStarvation(StringBuilder md, StarvationStress.Result r)
    {
        md.AppendLine("## (d) Thread-pool starvation (µs)").AppendLine();
        md.AppendLine(Invariant($"Thread pool capped at {Environment.ProcessorCount} and {r.PoolThreadsBlocked} blocking work items queued; alternating rounds; load average at the end: {r.Load}.")).AppendLine();
        md.AppendLine("| contender | pool | count | p50 | p90 | p99 | p99.9 | max |");
        md.AppendLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        Row(md, "SidecarWebSocket SpinThenPark", "free", r.SidecarUnstarved);
        Row(md, "SidecarWebSocket SpinThenPark", "starved", r.SidecarStarved);
        Row(md, "ClientWebSocket sync", "free", r.ClientUnstarved);
        Row(md, "ClientWebSocket sync", "starved", r.ClientStarved);
        md.AppendLine().AppendLine(Invariant($"Sidecar starved / free: p50 {r.SidecarStarved.P50 / r.SidecarUnstarved.P50:0.00}, p99 {r.SidecarStarved.P99 / r.SidecarUnstarved.P99:0.00}."));
        md.AppendLine(Invariant($"ClientWebSocket starved: {r.ClientStarvedStalls} of {r.ClientStarvedAttempts} rounds stalled past the deadline; {r.ClientStarvedNote}.")).AppendLine();
    }

    private static void Row(StringBuilder md, string name, string pool, LatencySummary s) =>
        md.AppendLine(Invariant($"| {name} | {pool} | {s.Count:N0} | {s.P50:0.0} | {s.P90:0.0} | {s.P99:0.0} | {s.P999:0.0} | {s.Max:0.0} |"));

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
