using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using FastSidecar.Benchmarks.Peers;
using FastSidecar.Benchmarks.Stress;
using HdrHistogram;

namespace FastSidecar.Benchmarks.Lifecycle;

/// <summary>
/// Connection lifecycle side by side against the three peers: <c>lifecycle [--cycles N] [--block N] [--runs N] [--out DIR]</c>.
/// Per peer, four contenders take turns block by block in a rotating order: <c>ClientWebSocket</c> (<c>ConnectAsync</c>,
/// <c>CloseAsync</c>, blocked on), <see cref="SidecarWebSocket"/> with a loop of its own (default options: a loop thread
/// started at connect and joined by <c>Exit</c>), <see cref="SidecarWebSocket"/> on one <see cref="SidecarLoop"/>
/// shared by every connection, and the <see cref="RawCycleFloor"/> (one thread, one blocking socket, nothing but the
/// bytes of the two handshakes), which bounds what any client can reach against that peer. Each cycle's connect and
/// close are timed separately; the cycle rate is cycles over the wall time of the blocks, so it also holds whatever
/// the cycle leaves to the next one (a thread still exiting, a collection).
/// </summary>
internal static class LifecycleRunner
{
    private static readonly string[] s_contenders = ["ClientWebSocket", "Sidecar own loop", "Sidecar shared loop", "raw socket floor"];

    private static readonly JsonSerializerOptions s_json = new()
    {
        WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static int Run(ReadOnlySpan<string> args)
    {
        int cycles = 2_000, block = 100, runs = 5, warmup = 200;
        string outDir = "perf-results/lifecycle";
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--cycles": cycles = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--block": block = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--runs": runs = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--warmup": warmup = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--out": outDir = args[i + 1]; break;
            }
        }

        Directory.CreateDirectory(outDir);
        var report = new StringBuilder();
        report.AppendLine("# Connection lifecycle: connect + close cycles against three peers").AppendLine();
        report.AppendLine(Invariant($"Command: `dotnet run -c Release --project bench/FastSidecar.Benchmarks -- lifecycle {string.Join(' ', args.ToArray())}`  "));
        report.AppendLine(Invariant($"{RuntimeInformation.FrameworkDescription}, {Environment.ProcessorCount} cores, started {DateTimeOffset.UtcNow:u}, load average at start {MachineLoad.Now()}.  "));
        report.AppendLine(Invariant($"{cycles} cycles per contender, peer and run, in blocks of {block} (rotating order), after {warmup} unmeasured cycles each; times in µs.")).AppendLine();

        using var peers = new EchoPeers();
        using var sharedLoop = new SidecarLoop(new SidecarLoopOptions { Name = "FastSidecar shared" });
        var own = new SidecarOptions();
        var shared = new SidecarOptions { Loop = sharedLoop };
        var json = new List<object>();
        for (int run = 1; run <= runs; run++)
        {
            report.AppendLine(Invariant($"## Run {run} (load average at start {MachineLoad.Now()})")).AppendLine();
            report.AppendLine("| peer | contender | cycles/s | / CWS | connect p50 | connect p99 | close p50 | close p99 | close p50 / CloseAsync p50 | Exit not clean (floor: peer close not 1000) |");
            report.AppendLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
            foreach ((string peer, Uri uri) in peers.All)
            {
                var floor = new RawCycleFloor(uri);
                var measured = new Measurement[s_contenders.Length];
                for (int c = 0; c < measured.Length; c++)
                {
                    measured[c] = new Measurement();
                    RunBlock(c, uri, floor, own, shared, warmup, new Measurement()); // warm-up, per run: the peer may have been idle
                }

                for (int done = 0, turn = 0; done < cycles; done += block, turn++)
                {
                    for (int k = 0; k < measured.Length; k++)
                    {
                        int c = (turn + k) % measured.Length;
                        RunBlock(c, uri, floor, own, shared, Math.Min(block, cycles - done), measured[c]);
                    }
                }

                LatencySummary closeBaseline = LatencySummary.From(measured[0].Close);
                double rateBaseline = measured[0].Rate;
                for (int c = 0; c < measured.Length; c++)
                {
                    LatencySummary connect = LatencySummary.From(measured[c].Connect);
                    LatencySummary close = LatencySummary.From(measured[c].Close);
                    report.AppendLine(Invariant(
                        $"| {peer} | {s_contenders[c]} | {measured[c].Rate:N0} | {measured[c].Rate / rateBaseline:0.00} | {connect.P50:0} | {connect.P99:0} | {close.P50:0} | {close.P99:0} | {close.P50 / closeBaseline.P50:0.00} | {measured[c].Unclean} |"));
                    json.Add(new { Run = run, Peer = peer, Contender = s_contenders[c], CyclesPerSecond = measured[c].Rate, Connect = connect, Close = close, measured[c].Unclean });
                }

                Console.WriteLine(Invariant($"run {run}, {peer}: CWS {measured[0].Rate:N0}/s, own {measured[1].Rate:N0}/s, shared {measured[2].Rate:N0}/s, floor {measured[3].Rate:N0}/s (load {MachineLoad.Now()})"));
            }

            report.AppendLine().AppendLine(Invariant($"Load average at the end of run {run}: {MachineLoad.Now()}.")).AppendLine();
            File.WriteAllText(Path.Combine(outDir, "lifecycle.md"), report.ToString());
            File.WriteAllText(Path.Combine(outDir, "lifecycle.json"), JsonSerializer.Serialize(json, s_json));
        }

        Console.WriteLine(report.ToString());
        return 0;
    }

    private static void RunBlock(int contender, Uri uri, RawCycleFloor floor, SidecarOptions own, SidecarOptions shared, int count, Measurement into)
    {
        long blockStart = Stopwatch.GetTimestamp();
        for (int i = 0; i < count; i++)
        {
            long start = Stopwatch.GetTimestamp();
            long connected, closed;
            if (contender == 0)
            {
                using var socket = new ClientWebSocket();
                socket.Options.KeepAliveInterval = TimeSpan.Zero;
                socket.ConnectAsync(uri, CancellationToken.None).GetAwaiter().GetResult();
                connected = Stopwatch.GetTimestamp();
                socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).GetAwaiter().GetResult();
                closed = Stopwatch.GetTimestamp();
            }
            else if (contender == 3)
            {
                Socket socket = floor.Open();
                connected = Stopwatch.GetTimestamp();
                if (!floor.Close(socket))
                {
                    into.Unclean++;
                }

                closed = Stopwatch.GetTimestamp();
            }
            else
            {
                SidecarWebSocket socket = SidecarWebSocket.Connect(uri, contender == 1 ? own : shared);
                connected = Stopwatch.GetTimestamp();
                ShutdownReport report = socket.Exit();
                closed = Stopwatch.GetTimestamp();
                if (report.CloseCode != WebSocketCloseCode.NormalClosure || report.Steps[1].Outcome != ShutdownOutcome.Completed || !report.ThreadJoined)
                {
                    // Kept in the figures (it is what the cycle cost) and counted: at very high load the close can
                    // outlast CloseTimeout (1 s), while CloseAsync, which has no deadline, simply takes that long.
                    into.Unclean++;
                }
            }

            into.Connect.RecordValue(connected - start);
            into.Close.RecordValue(closed - connected);
        }

        into.Ticks += Stopwatch.GetTimestamp() - blockStart;
        into.Cycles += count;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private sealed class Measurement
    {
        public LongHistogram Connect { get; } = LatencySummary.NewHistogram();

        public LongHistogram Close { get; } = LatencySummary.NewHistogram();

        public long Ticks { get; set; }

        public long Cycles { get; set; }

        public int Unclean { get; set; }

        public double Rate => Cycles / (Ticks / (double)Stopwatch.Frequency);
    }
}
