using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using FastSidecar.Benchmarks.Peers;
using FastSidecar.Benchmarks.Stress;

namespace FastSidecar.Benchmarks.Lifecycle;

/// <summary>
/// What one connect + close cycle costs beside its time: <c>lifecycle-cost [--cycles N] [--warmup N] [--only C --peer P]</c>.
/// Per peer and contender (as in <see cref="LifecycleRunner"/>), the bytes allocated per cycle by every thread of the
/// process (<see cref="GC.GetTotalAllocatedBytes(bool)"/>, so the in-process peers' own allocations are in their rows;
/// Node's rows hold the clients' alone), the garbage collections per thousand cycles and the process's CPU time per
/// cycle (Node's rows again: the peer's CPU is not in them); then the start and join of a bare thread and the creation
/// and stop of an idle <see cref="SidecarLoop"/>, which a loop per connection adds to a cycle. <c>--only</c> (0, 1, 2:
/// the contender's column) with <c>--peer</c> (0, 1, 2) runs that pair alone, for <c>strace -f -c</c>: run it with
/// <c>--cycles 0</c> and with <c>--cycles N</c> and subtract.
/// </summary>
internal static class LifecycleCostRunner
{
    private static readonly string[] s_contenders = ["ClientWebSocket", "Sidecar own loop", "Sidecar shared loop"];

    public static int Run(ReadOnlySpan<string> args)
    {
        int cycles = 1_000, warmup = 200, only = -1, onlyPeer = -1;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--cycles": cycles = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--warmup": warmup = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--only": only = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--peer": onlyPeer = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
            }
        }

        Console.WriteLine(Invariant($"# Connect + close: allocations per cycle and thread costs ({cycles} cycles after {warmup}, load average {MachineLoad.Now()})"));
        Console.WriteLine();
        Console.WriteLine("| peer | contender | bytes allocated / cycle (whole process) | gen0 / gen1 / gen2 collections per 1,000 cycles | process CPU µs / cycle |");
        Console.WriteLine("| --- | --- | ---: | ---: | ---: |");
        using var peers = new EchoPeers();
        using var sharedLoop = new SidecarLoop(new SidecarLoopOptions { Name = "FastSidecar shared" });
        var own = new SidecarOptions();
        var shared = new SidecarOptions { Loop = sharedLoop };
        for (int p = 0; p < peers.All.Count; p++)
        {
            (string peer, Uri uri) = peers.All[p];
            for (int c = 0; c < s_contenders.Length; c++)
            {
                if (only >= 0 && (c != only || p != onlyPeer))
                {
                    continue;
                }

                SidecarOptions options = c == 1 ? own : shared;
                for (int i = 0; i < warmup; i++)
                {
                    Cycle(c, uri, options);
                }

                int[] collections = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
                TimeSpan cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
                long before = GC.GetTotalAllocatedBytes(precise: true);
                for (int i = 0; i < cycles; i++)
                {
                    Cycle(c, uri, options);
                }

                long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
                double cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMicroseconds;
                if (cycles == 0)
                {
                    continue;
                }

                double Per1000(int generation) => (GC.CollectionCount(generation) - collections[generation]) * 1000.0 / cycles;
                Console.WriteLine(Invariant(
                    $"| {peer} | {s_contenders[c]} | {allocated / cycles:N0} | {Per1000(0):0.#} / {Per1000(1):0.#} / {Per1000(2):0.#} | {cpu / cycles:0} |"));
            }
        }

        if (only >= 0 || cycles == 0)
        {
            return 0;
        }

        Console.WriteLine();
        Console.WriteLine(Invariant($"Load average before the thread costs: {MachineLoad.Now()}."));
        Console.WriteLine();
        Console.WriteLine("| what | start (or new) p50 µs | p90 | join (or Stop) p50 µs | p90 |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
        ThreadCosts("bare thread (`new Thread`, `UnsafeStart`, `Join`)", cycles, static () =>
        {
            var thread = new Thread(static () => { }) { IsBackground = true };
            thread.UnsafeStart();
            return () => thread.Join();
        });
        ThreadCosts("idle `SidecarLoop` (8 readiness events), `Stop`", cycles, static () =>
        {
            var loop = new SidecarLoop(new SidecarLoopOptions { MaxReadinessEvents = 8 });
            return () => loop.Stop(TimeSpan.FromSeconds(5));
        });
        return 0;
    }

    private static void Cycle(int contender, Uri uri, SidecarOptions options)
    {
        if (contender == 0)
        {
            using var socket = new ClientWebSocket();
            socket.Options.KeepAliveInterval = TimeSpan.Zero;
            socket.ConnectAsync(uri, CancellationToken.None).GetAwaiter().GetResult();
            socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).GetAwaiter().GetResult();
            return;
        }

        SidecarWebSocket.Connect(uri, options).Exit();
    }

    private static void ThreadCosts(string what, int count, Func<Action> start)
    {
        var started = new long[count];
        var ended = new long[count];
        for (int i = 0; i < count; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            Action end = start();
            long t1 = Stopwatch.GetTimestamp();
            end();
            started[i] = t1 - t0;
            ended[i] = Stopwatch.GetTimestamp() - t1;
        }

        Array.Sort(started);
        Array.Sort(ended);
        static double Micro(long ticks) => ticks * 1e6 / Stopwatch.Frequency;
        Console.WriteLine(Invariant(
            $"| {what} | {Micro(started[count / 2]):0} | {Micro(started[count * 9 / 10]):0} | {Micro(ended[count / 2]):0} | {Micro(ended[count * 9 / 10]):0} |"));
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
