using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using FastSidecar.Benchmarks.Peers;
using FastSidecar.Benchmarks.Stress;
using HdrHistogram;

namespace FastSidecar.Benchmarks.Scale;

/// <summary>
/// Many idle connections at once, to a peer the library does not drive: connect time, managed heap and RSS per
/// connection, the round-robin echo rate (64 B, one message in flight per connection), and the round trip of quiet
/// connections with and without one connection flooding the same loop.
/// </summary>
/// <remarks>
/// <c>scale [--counts 100,1000] [--modes cws,shared,shared-apart,own] [--peer node|blocking|node,blocking] [--seconds 3] [--echo-only true] [--out file.md]</c>.
/// <c>--echo-only true</c> skips the quiet and flooded round trips (their cells read "-"), for repeated A/B runs of the round robin.
/// <c>shared</c>: every connection on one <see cref="SidecarLoop"/> (default options); <c>own</c>: a loop each, with
/// <see cref="WaitStrategy.Blocking"/>; <c>shared-apart</c>: as <c>shared</c>, but the flooding connection on a second loop;
/// <c>cws</c>: <see cref="System.Net.WebSockets.ClientWebSocket"/>. The Node peer
/// runs in another process, so this process's heap and RSS hold only the clients; the blocking server shares the
/// process (its threads and buffers are then counted too, which the table says).
/// </remarks>
internal static class ScaleRunner
{
    private const int QuietSample = 64;
    private const int QuietRoundTripCount = 4000;
    private static readonly TimeSpan s_floodedPhaseLimit = TimeSpan.FromSeconds(30); // a starved quiet connection ends the phase, not the run
    private const int FloodWindow = 2048; // messages the flooding connection keeps in flight
    private static readonly byte[] s_payload = new byte[64];

    public static int Run(ReadOnlySpan<string> args)
    {
        int[] counts = [100, 1000];
        string[] modes = ["cws", "shared", "own"];
        string peerName = "node";
        double seconds = 3;
        string? output = null;
        bool echoOnly = false;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--counts": counts = args[i + 1].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(); break;
                case "--modes": modes = args[i + 1].Split(','); break;
                case "--peer": peerName = args[i + 1]; break;
                case "--seconds": seconds = double.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--out": output = args[i + 1]; break;
                case "--echo-only": echoOnly = bool.Parse(args[i + 1]); break;
                default: throw new ArgumentException($"Unknown option {args[i]}.");
            }
        }

        // --peer node,blocking: both peers in one run, each count and mode against one, then the other.
        string[] peerNames = peerName.Split(',');
        var peers = new List<(string Name, IDisposable Peer, Uri Uri)>();
        try
        {
            foreach (string name in peerNames)
            {
                IDisposable peer = name == "node" ? NodeEchoPeer.Start() : new BlockingEchoServer();
                peers.Add((name, peer, peer is NodeEchoPeer node ? node.Uri : ((BlockingEchoServer)peer).Uri));
            }

            var report = new StringBuilder();
            report.AppendLine(CultureInfo.InvariantCulture, $"Command: `dotnet run -c Release --project bench/FastSidecar.Benchmarks -- scale {string.Join(' ', args.ToArray())}`  ");
            report.AppendLine(CultureInfo.InvariantCulture, $"{RuntimeInformation.FrameworkDescription}, {Environment.ProcessorCount} cores, peer {peerName}, started {DateTimeOffset.UtcNow:u}, load average at start {MachineLoad.Now()}.").AppendLine();
            report.AppendLine("| peer | client | connections | connect all (ms) | managed heap / conn (KiB) | RSS / conn (KiB) | echoes/s round robin | quiet p50 / p99 (µs) | quiet p50 / p99 while one floods (µs) | flood echoes/s | client CPU / echo (µs) | peer CPU (cores) | load |");
            report.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
            Console.Write(report);
            foreach (int count in counts)
            {
                foreach ((string name, IDisposable peer, Uri uri) in peers)
                {
                    foreach (string mode in modes)
                    {
                        string row = $"| {name} " + RunOne(mode, count, uri, seconds, echoOnly, peer as NodeEchoPeer);
                        Console.WriteLine(row);
                        report.AppendLine(row);
                    }
                }
            }

            if (output is not null)
            {
                File.AppendAllText(output, report.AppendLine().ToString());
            }
        }
        finally
        {
            foreach ((_, IDisposable peer, _) in peers)
            {
                peer.Dispose();
            }
        }

        return 0;
    }

    private static string RunOne(string mode, int count, Uri uri, double seconds, bool echoOnly, NodeEchoPeer? node)
    {
        (long heapBefore, long rssBefore) = Footprint();
        // "shared-apart": the same shared loop for every connection but the first, which floods from a loop of its own,
        // so that comparing it with "shared" tells what sharing the loop with the flood costs the quiet connections.
        SidecarLoop? shared = mode is "shared" or "shared-apart" ? new SidecarLoop(new SidecarLoopOptions { Name = "scale shared loop" }) : null;
        SidecarLoop? apart = mode == "shared-apart" ? new SidecarLoop(new SidecarLoopOptions { Name = "scale flood loop" }) : null;
        var clients = new ScaleClient[count];
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < count; i++)
        {
            clients[i] = mode switch
            {
                "cws" => new ClientWebSocketScaleClient(uri),
                "shared" or "shared-apart" => new SidecarScaleClient(SidecarWebSocket.Connect(uri, new SidecarOptions { Loop = i == 0 && apart is not null ? apart : shared, CloseTimeout = TimeSpan.FromSeconds(2) })),
                "own" => new SidecarScaleClient(SidecarWebSocket.Connect(uri, new SidecarOptions { WaitStrategy = WaitStrategy.Blocking, CloseTimeout = TimeSpan.FromSeconds(2) })),
                _ => throw new ArgumentException($"Unknown mode {mode}."),
            };
        }

        double connectMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        Progress(mode, count, "connected");
        (long heapIdle, long rssIdle) = Footprint();
        RoundRobin(clients, 0.5); // warm-up, so tiered compilation does not share the timed seconds with the peer
        TimeSpan clientCpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        TimeSpan peerCpuBefore = node?.ProcessorTime ?? TimeSpan.Zero;
        long roundRobinStart = Stopwatch.GetTimestamp();
        double echoRate = RoundRobin(clients, seconds);
        double roundRobinSeconds = Stopwatch.GetElapsedTime(roundRobinStart).TotalSeconds;
        // This process's CPU per echo (with the blocking peer its server threads are in it too), and the Node peer's
        // share of a core: a peer near 1.0 is the limit of the rate, whatever the client costs.
        double clientCpuPerEcho = (Process.GetCurrentProcess().TotalProcessorTime - clientCpuBefore).TotalMicroseconds / (echoRate * roundRobinSeconds);
        string peerCores = node is null ? "-" : ((node.ProcessorTime - peerCpuBefore).TotalSeconds / roundRobinSeconds).ToString("0.00", CultureInfo.InvariantCulture);
        Progress(mode, count, "round robin done");
        string load = MachineLoad.Now();
        string latencyCells = "- | - | -";
        if (!echoOnly)
        {
            LatencySummary quiet = QuietRoundTrips(clients, null, out _);
            Progress(mode, count, "quiet done");
            LatencySummary flooded = QuietRoundTrips(clients, clients[0], out double floodRate);
            Progress(mode, count, "flooded done");
            load = MachineLoad.Now();
            latencyCells = string.Create(CultureInfo.InvariantCulture,
                $"{quiet.P50:0} / {quiet.P99:0} | {flooded.P50:0} / {flooded.P99:0}{(s_quietRoundTripsCompleted < QuietRoundTripCount ? $" ({s_quietRoundTripsCompleted} of {QuietRoundTripCount} in {s_floodedPhaseLimit.TotalSeconds:0} s)" : "")} | {floodRate:N0}");
        }

        foreach (ScaleClient client in clients)
        {
            client.Dispose();
        }

        shared?.Dispose();
        apart?.Dispose();
        string name = mode switch
        {
            "cws" => "ClientWebSocket",
            "shared" => "FastSidecar, one shared loop",
            "shared-apart" => "FastSidecar, one shared loop, the flooding connection on another",
            _ => "FastSidecar, a loop each (Blocking)",
        };
        return string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {count:N0} | {connectMs:0} | {(heapIdle - heapBefore) / 1024.0 / count:0.0} | {(rssIdle - rssBefore) / 1024.0 / count:0.0} | {echoRate:N0} | {latencyCells} | {clientCpuPerEcho:0.0} | {peerCores} | {load} |");
    }

    private static void Progress(string mode, int count, string what) =>
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  [{DateTime.UtcNow:HH:mm:ss}] {mode} {count}: {what}"));

    private static (long Heap, long Rss) Footprint()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        long heap = GC.GetTotalMemory(forceFullCollection: true);
        long rss = 0;
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture) * 1024;
            }
        }

        return (heap, rss);
    }

    /// <summary>Sends one message on every connection, then takes every echo, for <paramref name="seconds"/>.</summary>
    private static double RoundRobin(ScaleClient[] clients, double seconds)
    {
        long echoes = 0;
        long start = Stopwatch.GetTimestamp();
        long end = start + (long)(seconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < end)
        {
            foreach (ScaleClient client in clients)
            {
                client.Send(s_payload);
            }

            foreach (ScaleClient client in clients)
            {
                CheckEcho(client.ReceiveOne());
            }

            echoes += clients.Length;
        }

        return echoes / Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    /// <summary>Round trips on up to 64 connections other than the first, one at a time, while the first floods (when given).</summary>
    // Quiet round trips the last QuietRoundTrips call completed (fewer than QuietRoundTripCount when the flooded phase hit its limit).
    private static int s_quietRoundTripsCompleted;

    private static LatencySummary QuietRoundTrips(ScaleClient[] clients, ScaleClient? flooder, out double floodRate)
    {
        int quietCount = Math.Min(QuietSample, clients.Length - 1);
        LongHistogram histogram = LatencySummary.NewHistogram();
        long sent = 0;
        long received = 0;
        bool stop = false;
        Thread? sender = null;
        Thread? receiver = null;
        // Blocking hand-offs, so the flooding threads burn no core while they wait: the sender takes a window slot per
        // message; the receiver takes one token per message sent, plus one extra token when the flood stops.
        using var window = new SemaphoreSlim(FloodWindow);
        using var pending = new SemaphoreSlim(0);
        if (flooder is not null)
        {
            sender = new Thread(() =>
            {
                while (!Volatile.Read(ref stop))
                {
                    window.Wait();
                    flooder.Send(s_payload);
                    Interlocked.Increment(ref sent);
                    pending.Release();
                }

                pending.Release();
            }) { IsBackground = true, Name = "scale flood sender" };
            receiver = new Thread(() =>
            {
                while (true)
                {
                    pending.Wait();
                    if (Volatile.Read(ref stop) && Interlocked.Read(ref received) == Interlocked.Read(ref sent))
                    {
                        break;
                    }

                    CheckEcho(flooder.ReceiveOne());
                    Interlocked.Increment(ref received);
                    window.Release();
                }
            }) { IsBackground = true, Name = "scale flood receiver" };
            sender.Start();
            receiver.Start();
            Thread.Sleep(200); // let the flood fill the queues before the quiet round trips start
        }

        long floodStart = Stopwatch.GetTimestamp();
        long receivedAtStart = Interlocked.Read(ref received);
        int completed = 0;
        for (int i = 0; i < QuietRoundTripCount; i++, completed++)
        {
            if (flooder is not null && Stopwatch.GetElapsedTime(floodStart) > s_floodedPhaseLimit)
            {
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  flooded phase ended at its {s_floodedPhaseLimit.TotalSeconds:0} s limit after {completed} quiet round trips"));
                break;
            }

            ScaleClient client = clients[1 + (i % quietCount)];
            long t0 = Stopwatch.GetTimestamp();
            client.Send(s_payload);
            CheckEcho(client.ReceiveOne());
            histogram.RecordValue(Stopwatch.GetTimestamp() - t0);
            if (flooder is not null && i % 1000 == 999)
            {
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  quiet round trips {i + 1}, flood sent {Interlocked.Read(ref sent)} received {Interlocked.Read(ref received)}"));
            }
        }

        floodRate = (Interlocked.Read(ref received) - receivedAtStart) / Stopwatch.GetElapsedTime(floodStart).TotalSeconds;
        s_quietRoundTripsCompleted = completed;
        Volatile.Write(ref stop, true);
        window.Release(); // a sender waiting for a window slot sees the stop
        sender?.Join();
        receiver?.Join();
        return LatencySummary.From(histogram);
    }

    private static void CheckEcho(int length)
    {
        if (length != s_payload.Length)
        {
            throw new InvalidOperationException($"Echo of {length} bytes, expected {s_payload.Length}.");
        }
    }
}
