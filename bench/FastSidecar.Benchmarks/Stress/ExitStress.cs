using System.Diagnostics;
using System.Net.WebSockets;
using FastSidecar.Benchmarks.Contenders;
using FastSidecar.Testing;
using HdrHistogram;

namespace FastSidecar.Benchmarks.Stress;

/// <summary>
/// (b) Exit latency. Responsive peer: each cycle connects, does one round trip and exits; the time of each shutdown
/// step and of the whole <c>Exit</c> (thread joined) goes into a histogram, interleaved cycle by cycle with
/// <c>ClientWebSocket</c>'s <c>CloseAsync</c> after the same one round trip. Silent peer: the server never answers the
/// close, so <c>Exit</c> must end at the close timeout; every one is checked against CloseTimeout + 5 ms.
/// </summary>
internal static class ExitStress
{
    public sealed record Result(
        Dictionary<string, LatencySummary> Responsive,
        LatencySummary SilentTotal,
        double SilentCloseTimeoutMs,
        int SilentOverBound,
        double SilentWorstMs,
        string ClientWebSocketSilentClose,
        string Load);

    public static (Result Result, Dictionary<string, LongHistogram> Histograms) Run(StressSettings settings, LoopbackEchoServer server)
    {
        string[] steps = ["stop taking work", "close the WebSocket", "stop the loop", "join the thread"];
        var histograms = new Dictionary<string, LongHistogram>
        {
            ["Sidecar Exit (total)"] = LatencySummary.NewHistogram(),
            ["ClientWebSocket CloseAsync"] = LatencySummary.NewHistogram(),
        };
        foreach (string step in steps)
        {
            histograms["Sidecar step: " + step] = LatencySummary.NewHistogram();
        }

        byte[] payload = new byte[64];
        for (int i = 0; i < settings.ExitCycles + 50; i++)
        {
            bool measured = i >= 50; // the first cycles warm up both paths
            using (var sidecar = new SidecarContender(server.Uri, WaitStrategy.SpinThenPark))
            {
                sidecar.Prepare(payload);
                sidecar.RoundTrip();
                long start = Stopwatch.GetTimestamp();
                ShutdownReport report = sidecar.Socket.Exit();
                long elapsed = Stopwatch.GetTimestamp() - start;
                if (measured)
                {
                    histograms["Sidecar Exit (total)"].RecordValue(elapsed);
                    foreach (ShutdownStep step in report.Steps)
                    {
                        histograms["Sidecar step: " + step.Name].RecordValue(Math.Max(1, (long)(step.Duration.Ticks * (Stopwatch.Frequency / (double)TimeSpan.TicksPerSecond))));
                    }
                }
            }

            using (var client = new ClientWebSocketContender(server.Uri, async: false))
            {
                client.Prepare(payload);
                client.RoundTrip();
                long start = Stopwatch.GetTimestamp();
                client.Close();
                long elapsed = Stopwatch.GetTimestamp() - start;
                if (measured)
                {
                    histograms["ClientWebSocket CloseAsync"].RecordValue(elapsed);
                }
            }
        }

        Console.WriteLine($"  exit, responsive peer: {settings.ExitCycles} cycles done");
        var silent = LatencySummary.NewHistogram();
        double bound = settings.SilentCloseTimeout.TotalMilliseconds + 5;
        int over = 0;
        double worst = 0;
        var options = new SidecarOptions { CloseTimeout = settings.SilentCloseTimeout, WaitStrategy = WaitStrategy.SpinThenPark };
        for (int i = 0; i < settings.SilentExitCycles; i++)
        {
            var socket = SidecarWebSocket.Connect(server.UriFor(EchoServerFault.Silent), options);
            socket.Send(payload);
            socket.Receive(TimeSpan.FromSeconds(10)).Dispose();
            long start = Stopwatch.GetTimestamp();
            ShutdownReport report = socket.Exit();
            long elapsed = Stopwatch.GetTimestamp() - start;
            silent.RecordValue(elapsed);
            double ms = Stopwatch.GetElapsedTime(start, start + elapsed).TotalMilliseconds;
            worst = Math.Max(worst, ms);
            if (ms > bound || !report.ThreadJoined)
            {
                over++;
            }
        }

        Console.WriteLine($"  exit, silent peer: {settings.SilentExitCycles} cycles done");
        string clientSilent = ClientWebSocketOnSilentPeer(server);
        var summaries = histograms.ToDictionary(p => p.Key, p => LatencySummary.From(p.Value));
        histograms["Sidecar Exit, silent peer"] = silent;
        return (new Result(summaries, LatencySummary.From(silent), settings.SilentCloseTimeout.TotalMilliseconds, over, worst, clientSilent, MachineLoad.Now()), histograms);
    }

    /// <summary><c>CloseAsync</c> against a peer that never answers: bounded here by a cancellation after 2 s.</summary>
    private static string ClientWebSocketOnSilentPeer(LoopbackEchoServer server)
    {
        using var client = new ClientWebSocket();
        client.ConnectAsync(server.UriFor(EchoServerFault.Silent), CancellationToken.None).GetAwaiter().GetResult();
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        long start = Stopwatch.GetTimestamp();
        try
        {
            client.CloseAsync(WebSocketCloseStatus.NormalClosure, null, cancel.Token).GetAwaiter().GetResult();
            return $"returned after {Stopwatch.GetElapsedTime(start).TotalMilliseconds:0.0} ms";
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException)
        {
            return $"had not returned after {Stopwatch.GetElapsedTime(start).TotalMilliseconds:0} ms; ended only by cancelling it ({e.GetType().Name})";
        }
    }
}
