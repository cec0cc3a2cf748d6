using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using FastSidecar.Buffers;
using FastSidecar.Testing;

namespace FastSidecar.Benchmarks.Stress;

/// <summary>
/// (c) Reinitialisation. First the leak census: thousands of connect → exchange → exit cycles rotating through every
/// fault the echo server offers (and a refused port, and a handshake that is never answered), counting threads,
/// descriptors, pool rentals (a pool of its own) and the live heap before and after. Then the rate: clean connect →
/// close cycles of <see cref="SidecarWebSocket"/> against <c>ClientWebSocket</c>, interleaved in blocks.
/// </summary>
internal static class ReinitStress
{
    public sealed record Result(
        int Cycles,
        double MixedCyclesPerSecond,
        Dictionary<string, int> Outcomes,
        ProcessCensus Before,
        ProcessCensus After,
        long RentalsBefore,
        long RentalsAfter,
        long ServerSessionsLeft,
        int CleanCycles,
        double SidecarCyclesPerSecond,
        double ClientWebSocketCyclesPerSecond,
        string Load);

    public static Result Run(StressSettings settings, LoopbackEchoServer server)
    {
        var pool = new SidecarBufferPool();
        using var rotation = new FaultRotation(server, pool);
        for (int i = 0; i < 70; i++)
        {
            rotation.RunCycle(i);
        }

        SpinWait.SpinUntil(() => server.LiveSessions == 0, TimeSpan.FromSeconds(10));
        ProcessCensus before = ProcessCensus.Take();
        long rentalsBefore = pool.Outstanding;
        var outcomes = FaultRotation.AllKinds.ToDictionary(k => k, _ => 0);
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < settings.ReinitCycles; i++)
        {
            outcomes[rotation.RunCycle(i).Kind]++;
            if ((i + 1) % 1000 == 0)
            {
                Console.WriteLine($"  reinit: {i + 1}/{settings.ReinitCycles} cycles (load {MachineLoad.Now()})");
            }
        }

        double mixedRate = settings.ReinitCycles / Stopwatch.GetElapsedTime(start).TotalSeconds;
        SpinWait.SpinUntil(() => server.LiveSessions == 0, TimeSpan.FromSeconds(10));
        ProcessCensus after = ProcessCensus.Take();
        long rentalsAfter = pool.Outstanding;

        (double sidecarRate, double clientRate) = CleanRates(settings.CleanCycles, server.Uri);
        return new Result(settings.ReinitCycles, mixedRate, outcomes, before, after, rentalsBefore, rentalsAfter, server.LiveSessions, settings.CleanCycles,
            sidecarRate, clientRate, MachineLoad.Now());
    }

    /// <summary>Connect → close on a responsive peer, in alternating blocks of 100, each side timed on its own.</summary>
    private static (double Sidecar, double Client) CleanRates(int cycles, Uri uri)
    {
        const int Block = 100;
        TimeSpan sidecar = TimeSpan.Zero;
        TimeSpan client = TimeSpan.Zero;
        var options = new SidecarOptions { WaitStrategy = WaitStrategy.SpinThenPark };
        for (int done = 0; done < cycles; done += Block)
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < Block; i++)
            {
                SidecarWebSocket.Connect(uri, options).Exit();
            }

            sidecar += Stopwatch.GetElapsedTime(start);
            start = Stopwatch.GetTimestamp();
            for (int i = 0; i < Block; i++)
            {
                using var socket = new ClientWebSocket();
                socket.Options.KeepAliveInterval = TimeSpan.Zero;
                socket.ConnectAsync(uri, CancellationToken.None).GetAwaiter().GetResult();
                socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).GetAwaiter().GetResult();
            }

            client += Stopwatch.GetElapsedTime(start);
        }

        int total = (cycles + Block - 1) / Block * Block;
        return (total / sidecar.TotalSeconds, total / client.TotalSeconds);
    }
}
