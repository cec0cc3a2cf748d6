using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Text;
using FastSidecar.Benchmarks.Contenders;
using FastSidecar.Benchmarks.Peers;
using FastSidecar.Benchmarks.Stress;

namespace FastSidecar.Benchmarks.Throughput;

/// <summary>
/// Receive rate with the peer flooding, against all three peers, in several independent runs:
/// <c>flood [--runs 5] [--warmup-runs 1] [--messages N] [--trials 3] [--peers own,blocking,node] [--only 0,1,2,3] [--out DIR]</c>
/// (<c>--only</c> measures the listed contenders alone, for a profiler; the others show NaN). The warm-up runs are
/// whole runs, untimed in the report: the runtime compiles the hot paths at its higher tier on a background thread
/// for seconds after they first run, and a timed run in that window measures the compiler's share of the cores.
/// </summary>
/// <remarks>
/// <para>
/// Per run, peer and size, one <c>ClientWebSocket</c> and one <see cref="SidecarWebSocket"/> connection; then
/// <c>--trials</c> interleaved rounds of: <c>ClientWebSocket.ReceiveAsync</c> into one reused buffer,
/// <see cref="SidecarWebSocket.Receive(TimeSpan)"/> (a lease per message) and
/// <see cref="SidecarWebSocket.ReceiveBatch{TState}"/> (up to 4096 per call), and the floor: a
/// <see cref="RawFloodReader"/> (one thread, <c>recv</c> into 64 KiB, headers parsed, nothing copied). A trial asks the peer for
/// <see cref="Batch"/> messages at a time with one small text message and takes all of them before asking again, like
/// <see cref="ReceiveThroughputBenchmarks"/>; it counts from the first ask to the last message. Each figure is the
/// median of the trials; the ratios compare figures of the same run only (the machine is shared with other builds).
/// </para>
/// <para>
/// Bytes per message: <see cref="GC.GetTotalAllocatedBytes(bool)"/> across the trial, divided by the messages. It
/// counts the whole process, so the in-process peers' allocations would show here too. CPU per message: the process's
/// CPU time across the round divided by the messages, again with the in-process peers (not Node's process), spinning
/// waiters included; less sensitive than the rate to how often other processes take the cores.
/// </para>
/// </remarks>
internal static class FloodRates
{
    public const int Batch = 32_768;
    private const int BatchCallLimit = 4096;
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);
    private static int[] s_sizes = [64, 1024];
    private static readonly byte[] s_buffer = new byte[64 * 1024]; // ClientWebSocket's one reused receive buffer
    private static readonly string[] s_contenders = ["ClientWebSocket ReceiveAsync", "Sidecar Receive", "Sidecar ReceiveBatch", "raw floor"];

    private static WaitStrategy s_wait = WaitStrategy.SpinThenPark;
    private static int[] s_only = [0, 1, 2, 3];
    private static bool s_trace;
    private static bool s_splitCores; // the sidecar's loop pinned to core 1, the application thread to core 0

    private sealed record Trial(double MessagesPerSecond, double BytesPerMessage, double CpuNanosecondsPerMessage);

    public static int Run(ReadOnlySpan<string> args)
    {
        int runs = 5;
        int warmupRuns = 1;
        int trials = 3;
        long messages = 8 * Batch;
        string outDir = "perf-results/flood";
        bool sampleAllocations = false;
        string peerFilter = "own,blocking,node";
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--runs": runs = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--warmup-runs": warmupRuns = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--trials": trials = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--messages": messages = long.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--out": outDir = args[i + 1]; break;
                case "--peers": peerFilter = args[i + 1]; break;
                case "--only": s_only = args[i + 1].Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray(); break;
                case "--wait": s_wait = Enum.Parse<WaitStrategy>(args[i + 1]); break;
                case "--sample-allocations": sampleAllocations = bool.Parse(args[i + 1]); break;
                case "--trace": s_trace = bool.Parse(args[i + 1]); break;
                case "--split-cores": s_splitCores = bool.Parse(args[i + 1]); break;
                case "--sizes": s_sizes = args[i + 1].Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray(); break;
                default: throw new ArgumentException($"Unknown option {args[i]}.");
            }
        }

        messages = Math.Max(Batch, messages / Batch * Batch);
        using AllocationSampler? sampler = sampleAllocations ? new AllocationSampler() : null;
        using var blocking = new BlockingEchoServer();
        using var node = NodeEchoPeer.Start();
        (string Key, string Name, Func<int, Uri> Uri, Func<int, byte[]> Request)[] allPeers =
        [
            ("own", "own loop server", size => SharedEchoServer.Instance.FloodUri(size, 0), _ => Encoding.ASCII.GetBytes(Batch.ToString(CultureInfo.InvariantCulture))),
            ("blocking", "blocking server", _ => blocking.Uri, size => FloodRequest.Encode(Batch, size)),
            ("node", "node ws", _ => node.Uri, size => FloodRequest.Encode(Batch, size)),
        ];
        string[] chosen = peerFilter.Split(',');
        var peers = allPeers.Where(p => chosen.Contains(p.Key)).Select(p => (p.Name, p.Uri, p.Request)).ToArray();

        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"# Receive rate, peer flooding: {runs} runs, median of {trials} trials of {messages:N0} messages each");
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"Command: `dotnet run -c Release --project bench/FastSidecar.Benchmarks -- flood --runs {runs} --warmup-runs {warmupRuns} --trials {trials} --messages {messages} --wait {s_wait} --peers {peerFilter}{(sampleAllocations ? " --sample-allocations true" : "")} --out {outDir}`");
        report.AppendLine();
        report.AppendLine("| run | load (1/5/15 min) | peer | size | ClientWebSocket M msg/s | Receive M msg/s | ReceiveBatch M msg/s | raw floor M msg/s | Receive ratio | ReceiveBatch ratio | floor ratio | B/msg (CWS / Receive / Batch) | process CPU ns/msg (CWS / Receive / Batch / floor) |");
        report.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        var worst = new Dictionary<(string Peer, int Size, int Contender), double>();
        for (int run = 1 - warmupRuns; run <= runs; run++)
        {
            foreach ((string name, Func<int, Uri> uri, Func<int, byte[]> request) in peers)
            {
                foreach (int size in s_sizes)
                {
                    string load = MachineLoad.Now();
                    Trial[] medians = MeasureRun(uri(size), request(size), size, messages, trials);
                    if (run < 1)
                    {
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"warm-up run: {name} {size} B done (load {load})"));
                        continue;
                    }

                    double cws = medians[0].MessagesPerSecond;
                    for (int c = 1; c < medians.Length; c++)
                    {
                        double ratio = medians[c].MessagesPerSecond / cws;
                        worst[(name, size, c)] = Math.Min(worst.GetValueOrDefault((name, size, c), double.MaxValue), ratio);
                    }

                    string line = string.Create(CultureInfo.InvariantCulture,
                        $"| {run} | {load} | {name} | {size} B | {cws / 1e6:0.00} | {medians[1].MessagesPerSecond / 1e6:0.00} | {medians[2].MessagesPerSecond / 1e6:0.00} | {medians[3].MessagesPerSecond / 1e6:0.00} | {medians[1].MessagesPerSecond / cws:0.00} × | {medians[2].MessagesPerSecond / cws:0.00} × | {medians[3].MessagesPerSecond / cws:0.00} × | {medians[0].BytesPerMessage:0.0} / {medians[1].BytesPerMessage:0.0} / {medians[2].BytesPerMessage:0.0} | {medians[0].CpuNanosecondsPerMessage:0} / {medians[1].CpuNanosecondsPerMessage:0} / {medians[2].CpuNanosecondsPerMessage:0} / {medians[3].CpuNanosecondsPerMessage:0} |");
                    report.AppendLine(line);
                    Console.WriteLine(line);
                }
            }
        }

        report.AppendLine();
        report.AppendLine("Lowest ratio over the runs (goal: ≥ 2 × in every run):");
        report.AppendLine();
        report.AppendLine("| peer | size | Receive | ReceiveBatch | raw floor (the most any client could show) |");
        report.AppendLine("| --- | --- | --- | --- | --- |");
        foreach ((string name, _, _) in peers)
        {
            foreach (int size in s_sizes)
            {
                double receive = worst[(name, size, 1)];
                double batch = worst[(name, size, 2)];
                double floor = worst[(name, size, 3)];
                report.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {name} | {size} B | {receive:0.00} × {(receive >= 2 ? "met" : "**miss**")} | {batch:0.00} × {(batch >= 2 ? "met" : "**miss**")} | {floor:0.00} × |"));
            }
        }

        if (sampler is not null)
        {
            report.AppendLine();
            report.AppendLine("Allocation ticks over the whole run (connects and warm-ups included):");
            report.AppendLine();
            report.Append(sampler.Report());
        }

        Directory.CreateDirectory(outDir);
        File.WriteAllText(Path.Combine(outDir, "flood.md"), report.ToString());
        Console.WriteLine(report.ToString());
        return 0;
    }

    /// <summary>One run against one peer and size: the median of each contender's trials, interleaved.</summary>
    private static Trial[] MeasureRun(Uri uri, byte[] request, int size, long messages, int trials)
    {
        using var client = new ClientWebSocket();
        client.Options.KeepAliveInterval = TimeSpan.Zero;
        client.ConnectAsync(uri, CancellationToken.None).GetAwaiter().GetResult();
        // --split-cores: the placement in which the loop and the application thread run side by side on two cores.
        using SidecarLoop? pinnedLoop = s_splitCores ? new SidecarLoop(new SidecarLoopOptions { WaitStrategy = s_wait, ProcessorAffinity = 1 }) : null;
        if (s_splitCores && !FastSidecar.Loop.Interop.LinuxAffinity.TryPinCurrentThread(0))
        {
            throw new InvalidOperationException("Could not pin the application thread to core 0.");
        }

        SidecarWebSocket sidecar = SidecarWebSocket.Connect(uri, new SidecarOptions { WaitStrategy = s_wait, Loop = pinnedLoop });
        using var raw = new RawFloodReader(uri, request);
        var results = new List<Trial>[s_contenders.Length];
        for (int c = 0; c < results.Length; c++)
        {
            results[c] = [];
        }

        try
        {
            // A warm-up of each, so that the first trial does not pay for JIT and pool growth.
            ClientWebSocketFlood(client, request, size, Batch).GetAwaiter().GetResult();
            SidecarReceiveFlood(sidecar, request, size, Batch);
            SidecarBatchFlood(sidecar, request, size, Batch);
            raw.Flood(size, Batch);
            for (int t = 0; t < trials; t++)
            {
                Action[] floods =
                [
                    () => ClientWebSocketFlood(client, request, size, messages).GetAwaiter().GetResult(),
                    () => SidecarReceiveFlood(sidecar, request, size, messages),
                    () => SidecarBatchFlood(sidecar, request, size, messages),
                    () => raw.Flood(size, messages),
                ];
                foreach (int c in s_only)
                {
                    FloodTrace? trace = s_trace && c is 1 or 2 ? FloodTrace.Start(sidecar) : null;
                    Trial trial = Measure(messages, floods[c]);
                    results[c].Add(trial);
                    if (trace is not null)
                    {
                        Console.WriteLine(trace.Stop(s_contenders[c], messages, messages / trial.MessagesPerSecond));
                    }
                }
            }
        }
        finally
        {
            sidecar.Exit();
            client.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).GetAwaiter().GetResult();
        }

        return results.Select(r => r.Count == 0 ? new Trial(double.NaN, double.NaN, double.NaN) : r.OrderBy(x => x.MessagesPerSecond).ElementAt(r.Count / 2)).ToArray();
    }

    private static Trial Measure(long messages, Action flood)
    {
        using Process self = Process.GetCurrentProcess();
        TimeSpan cpu = self.TotalProcessorTime;
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        long start = Stopwatch.GetTimestamp();
        flood();
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        long bytes = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        self.Refresh();
        double cpuNanoseconds = (self.TotalProcessorTime - cpu).TotalNanoseconds;
        return new Trial(messages / seconds, (double)bytes / messages, cpuNanoseconds / messages);
    }

    private static async Task ClientWebSocketFlood(ClientWebSocket client, byte[] request, int size, long messages)
    {
        byte[] buffer = s_buffer;
        for (long taken = 0; taken < messages;)
        {
            await client.SendAsync(request, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
            for (int inBatch = 0; inBatch < Batch;)
            {
                ValueWebSocketReceiveResult result = await client.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
                if (result.EndOfMessage)
                {
                    inBatch++;
                }
            }

            taken += Batch;
        }

        _ = size;
    }

    private static void SidecarReceiveFlood(SidecarWebSocket sidecar, byte[] request, int size, long messages)
    {
        for (long taken = 0; taken < messages;)
        {
            sidecar.Send(request, MessageType.Text);
            for (int inBatch = 0; inBatch < Batch; inBatch++)
            {
                using ReceivedMessage message = sidecar.Receive(s_timeout);
                if (message.Length != size)
                {
                    throw new InvalidOperationException($"A {message.Length}-byte message in a flood of {size}.");
                }
            }

            taken += Batch;
        }
    }

    private static readonly ReceivedMessageHandler<StrongBox<long>> s_count = static (bytes, payload, _) => bytes.Value += payload.Length;

    private static void SidecarBatchFlood(SidecarWebSocket sidecar, byte[] request, int size, long messages)
    {
        var bytes = new StrongBox<long>();
        for (long taken = 0; taken < messages;)
        {
            sidecar.Send(request, MessageType.Text);
            for (int inBatch = 0; inBatch < Batch;)
            {
                inBatch += sidecar.ReceiveBatch(bytes, s_count, Math.Min(BatchCallLimit, Batch - inBatch), s_timeout);
            }

            taken += Batch;
        }

        if (bytes.Value != messages * size)
        {
            throw new InvalidOperationException($"{bytes.Value} bytes in a flood of {messages} × {size}.");
        }
    }
}
