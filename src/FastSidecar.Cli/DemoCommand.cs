using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using FastSidecar.Testing;
using Spectre.Console;

namespace FastSidecar.Cli;

/// <summary>
/// <c>fastsidecar demo</c>: the embedded echo server, one connection, and the numbers that matter side by side in one
/// run: round-trip percentiles against <see cref="System.Net.WebSockets.ClientWebSocket"/> and the raw busy-poll floor,
/// throughput each way, and the shutdown report. Results go to standard output; progress and warnings to standard error.
/// </summary>
internal static class DemoCommand
{
    private const int PayloadLength = 64;
    private static readonly TimeSpan s_receiveTimeout = TimeSpan.FromSeconds(10);

    public static Command Create(CliEnvironment environment)
    {
        var roundTrips = new Option<int>("--round-trips") { Description = "Measured echo round trips per contender (after warm-up)", DefaultValueFactory = _ => 20_000 };
        var warmup = new Option<int>("--warmup") { Description = "Unmeasured round trips per contender first", DefaultValueFactory = _ => 2_000 };
        var block = new Option<int>("--block") { Description = "Round trips per block; the two contenders alternate blocks", DefaultValueFactory = _ => 1_000 };
        var messages = new Option<int>("--messages") { Description = "Messages for the throughput phase", DefaultValueFactory = _ => 200_000 };
        var json = new Option<FileInfo?>("--json") { Description = "Also write the numbers to this file" };
        var command = new Command("demo", "Round trips beside ClientWebSocket and the raw socket floor, throughput and a measured Exit, against a loopback echo server in this process")
        {
            roundTrips, warmup, block, messages, json,
        };
        command.SetAction(parse => Run(environment, new Settings(
            parse.GetValue(roundTrips), parse.GetValue(warmup), parse.GetValue(block), parse.GetValue(messages), parse.GetValue(json))));
        return command;
    }

    private sealed record Settings(int RoundTrips, int Warmup, int Block, int Messages, FileInfo? Json);

    private static int Run(CliEnvironment environment, Settings settings)
    {
        if (settings.RoundTrips < 1 || settings.Warmup < 0 || settings.Block < 1 || settings.Messages < 1)
        {
            environment.Error.WriteLine("fastsidecar demo: --round-trips, --block and --messages must be positive, --warmup not negative.");
            return ExitCodes.Usage;
        }

        if (MachineLoad.Warning() is { } warning)
        {
            environment.Error.WriteLine(warning);
        }

        Result result;
        try
        {
            result = Measure(environment.Progress, settings);
        }
        catch (Exception e) when (e is SidecarWebSocketException or IOException or System.Net.Sockets.SocketException or TimeoutException)
        {
            environment.Error.WriteLine($"fastsidecar demo: {e.Message}");
            return ExitCodes.Failure;
        }

        Print(environment.Console, settings, result);
        if (settings.Json is not null)
        {
            JsonOutput.Write(settings.Json, ToData(settings, result));
            environment.Console.MarkupLine($"numbers written to [blue]{Markup.Escape(settings.Json.FullName)}[/]");
        }

        return result.ThroughputFailure is null ? ExitCodes.Success : ExitCodes.Failure;
    }

    private sealed record Throughput(int Messages, TimeSpan SendElapsed, TimeSpan ReceiveElapsed)
    {
        public double SentPerSecond => Messages / SendElapsed.TotalSeconds;

        public double ReceivedPerSecond => Messages / ReceiveElapsed.TotalSeconds;
    }

    private sealed record Result(Percentiles Sidecar, Percentiles ClientWebSocket, Percentiles Raw, Throughput? Throughput, string? ThroughputFailure, ShutdownReport Shutdown);

    /// <summary>Runs the phases; <paramref name="progress"/> is the standard-error console, so status never mixes with results.</summary>
    private static Result Measure(IAnsiConsole progress, Settings settings)
    {
        byte[] payload = new byte[PayloadLength];
        for (int i = 0; i < payload.Length; i++)
        {
            payload[i] = (byte)('a' + (i % 26));
        }

        var sidecar = new Latency();
        var bcl = new Latency();
        var raw = new Latency();
        Throughput? throughput = null;
        string? throughputFailure = null;
        ShutdownReport? shutdown = null;

        // The server parks when idle, so it does not take a core away from the client being measured.
        using var server = new LoopbackEchoServer(WaitStrategy.Blocking, new SidecarBufferPool());
        progress.Status().Start("connecting", context =>
        {
            SidecarWebSocket ws = SidecarWebSocket.Connect(server.Uri);
            try
            {
                using RawFloorClient floor = RawFloorClient.Connect(server.Uri, payload);
                using ClientWebSocketContender clientWebSocket = ClientWebSocketContender.Connect(server.Uri, payload);

                context.Status($"warm-up: {settings.Warmup:N0} round trips each");
                for (int i = 0; i < settings.Warmup; i++)
                {
                    SidecarRoundTrip(ws, payload);
                    clientWebSocket.RoundTrip();
                    floor.RoundTrip();
                }

                // Alternating blocks: whatever the machine does meanwhile lands on both contenders alike.
                int done = 0;
                while (done < settings.RoundTrips)
                {
                    int count = Math.Min(settings.Block, settings.RoundTrips - done);
                    context.Status($"round trips: {done:N0} / {settings.RoundTrips:N0} each, FastSidecar, ClientWebSocket and raw floor alternating");
                    for (int i = 0; i < count; i++)
                    {
                        long start = Stopwatch.GetTimestamp();
                        SidecarRoundTrip(ws, payload);
                        sidecar.RecordTicks(Stopwatch.GetTimestamp() - start);
                    }

                    for (int i = 0; i < count; i++)
                    {
                        long start = Stopwatch.GetTimestamp();
                        clientWebSocket.RoundTrip();
                        bcl.RecordTicks(Stopwatch.GetTimestamp() - start);
                    }

                    for (int i = 0; i < count; i++)
                    {
                        long start = Stopwatch.GetTimestamp();
                        floor.RoundTrip();
                        raw.RecordTicks(Stopwatch.GetTimestamp() - start);
                    }

                    done += count;
                }

                context.Status($"throughput: {settings.Messages:N0} messages through Send, echoes taken on a second thread");
                try
                {
                    throughput = MeasureThroughput(ws, payload, settings.Messages);
                }
                catch (IOException e)
                {
                    // The round-trip numbers and the shutdown report still stand; the failure is shown with them.
                    throughputFailure = e.Message;
                }
            }
            finally
            {
                context.Status("measuring Exit");
                shutdown = ws.Exit();
            }
        });

        return new Result(sidecar.Summary(), bcl.Summary(), raw.Summary(), throughput, throughputFailure, shutdown!);
    }

    private static void SidecarRoundTrip(SidecarWebSocket ws, byte[] payload)
    {
        ws.Send(payload, MessageType.Binary);
        using ReceivedMessage echo = ws.Receive(s_receiveTimeout);
        if (echo.Length != payload.Length)
        {
            throw new IOException($"The echo has {echo.Length} bytes, not {payload.Length}.");
        }
    }

    private static Throughput MeasureThroughput(SidecarWebSocket ws, byte[] payload, int messages)
    {
        using var go = new ManualResetEventSlim(false);
        long started = 0;
        long lastReceived = 0;
        int received = 0;
        Exception? receiveError = null;
        var receiver = new Thread(() =>
        {
            try
            {
                go.Wait();
                for (int i = 0; i < messages; i++)
                {
                    ws.Receive(s_receiveTimeout).Dispose();
                    Volatile.Write(ref received, i + 1);
                }

                lastReceived = Stopwatch.GetTimestamp();
            }
            catch (Exception e)
            {
                receiveError = e;
            }
        })
        { IsBackground = true, Name = "demo receiver" };
        receiver.Start();

        started = Stopwatch.GetTimestamp();
        go.Set();
        for (int i = 0; i < messages; i++)
        {
            ws.Send(payload, MessageType.Binary);
        }

        long sendDone = Stopwatch.GetTimestamp();
        receiver.Join();
        if (receiveError is not null)
        {
            throw new IOException(string.Create(CultureInfo.InvariantCulture,
                $"The throughput receiver failed after {received:N0} of {messages:N0} echoes ({ws.PendingSendCount} sends queued, {ws.PendingReceiveCount} received queued, {ws.State}): {receiveError.Message}"),
                receiveError);
        }

        return new Throughput(messages, Stopwatch.GetElapsedTime(started, sendDone), Stopwatch.GetElapsedTime(started, lastReceived));
    }

    private static void Print(IAnsiConsole console, Settings settings, Result result)
    {
        var latency = new Table
        {
            Title = new TableTitle(string.Create(CultureInfo.InvariantCulture,
                $"Echo round trip (µs), {PayloadLength} B, {result.Sidecar.Count:N0} each, alternating blocks of {settings.Block:N0}")),
        }
            .AddColumn("")
            .AddColumn(new TableColumn("FastSidecar").RightAligned())
            .AddColumn(new TableColumn("ClientWebSocket").RightAligned())
            .AddColumn(new TableColumn("raw floor").RightAligned())
            .AddColumn(new TableColumn("÷ CWS").RightAligned())
            .AddColumn(new TableColumn("÷ raw").RightAligned());
        AddRow(latency, "p50", result.Sidecar.P50, result.ClientWebSocket.P50, result.Raw.P50);
        AddRow(latency, "p90", result.Sidecar.P90, result.ClientWebSocket.P90, result.Raw.P90);
        AddRow(latency, "p99", result.Sidecar.P99, result.ClientWebSocket.P99, result.Raw.P99);
        AddRow(latency, "p99.9", result.Sidecar.P999, result.ClientWebSocket.P999, result.Raw.P999);
        AddRow(latency, "max", result.Sidecar.Max, result.ClientWebSocket.Max, result.Raw.Max);
        latency.Caption = new TableTitle("FastSidecar: Send + Receive, SpinThenPark loop; ClientWebSocket: SendAsync + ReceiveAsync awaited synchronously; raw floor: one non-blocking socket, pre-built masked frame, busy-polled echo. ÷ CWS: FastSidecar ÷ ClientWebSocket; ÷ raw: FastSidecar ÷ raw floor");
        console.Write(latency);
        console.WriteLine(MeasuredLine);

        if (result.Throughput is not { } t)
        {
            console.MarkupLine($"[red]throughput phase failed: {Markup.Escape(result.ThroughputFailure ?? "unknown")}[/]");
            console.Write(ShutdownTable.Create(result.Shutdown));
            return;
        }

        var throughput = new Table { Title = new TableTitle(string.Create(CultureInfo.InvariantCulture, $"Throughput, {t.Messages:N0} messages of {PayloadLength} B")) }
            .AddColumn("direction")
            .AddColumn(new TableColumn("elapsed").RightAligned())
            .AddColumn(new TableColumn("messages/s").RightAligned());
        throughput.AddRow("sent (Send returned)", ShutdownTable.FormatDuration(t.SendElapsed), t.SentPerSecond.ToString("N0", CultureInfo.InvariantCulture));
        throughput.AddRow("received (echoes taken)", ShutdownTable.FormatDuration(t.ReceiveElapsed), t.ReceivedPerSecond.ToString("N0", CultureInfo.InvariantCulture));
        console.Write(throughput);

        console.Write(ShutdownTable.Create(result.Shutdown));
    }

    /// <summary>What the round-trip table measures and how to read its ratios, in one line.</summary>
    internal const string MeasuredLine =
        "Measured: the time from sending a 64 B message to holding its echo, each contender in turn in alternating blocks, against a loopback echo server that runs in this same process. " +
        "A ratio is FastSidecar's time divided by the other's: below 1.00× FastSidecar is faster; above, slower.";

    private static void AddRow(Table table, string label, double sidecar, double clientWebSocket, double raw) => table.AddRow(
        label,
        sidecar.ToString("0.0", CultureInfo.InvariantCulture),
        clientWebSocket.ToString("0.0", CultureInfo.InvariantCulture),
        raw.ToString("0.0", CultureInfo.InvariantCulture),
        Ratio(sidecar, clientWebSocket),
        Ratio(sidecar, raw));

    private static string Ratio(double value, double baseline) =>
        baseline > 0 ? (value / baseline).ToString("0.00", CultureInfo.InvariantCulture) + "×" : "-";

    private static DemoData ToData(Settings settings, Result result) => new(
        new RoundTripData(PayloadLength, result.Sidecar.Count, settings.Block, result.Sidecar, result.Raw,
            result.Raw.P50 > 0 ? result.Sidecar.P50 / result.Raw.P50 : 0, result.Raw.P99 > 0 ? result.Sidecar.P99 / result.Raw.P99 : 0,
            result.ClientWebSocket,
            result.ClientWebSocket.P50 > 0 ? result.Sidecar.P50 / result.ClientWebSocket.P50 : 0,
            result.ClientWebSocket.P99 > 0 ? result.Sidecar.P99 / result.ClientWebSocket.P99 : 0),
        result.Throughput is { } t ? new ThroughputData(t.Messages, PayloadLength, t.SentPerSecond, t.ReceivedPerSecond, null)
            : new ThroughputData(settings.Messages, PayloadLength, 0, 0, result.ThroughputFailure),
        ShutdownTable.ToData(result.Shutdown));

    private sealed record RoundTripData(int PayloadBytes, long CountEach, int BlockSize, Percentiles SidecarMicros, Percentiles RawFloorMicros, double RatioP50, double RatioP99,
        Percentiles ClientWebSocketMicros, double RatioP50VsClientWebSocket, double RatioP99VsClientWebSocket);

    private sealed record ThroughputData(int Messages, int PayloadBytes, double SentPerSecond, double ReceivedPerSecond, string? Failure);

    private sealed record DemoData(RoundTripData RoundTrip, ThroughputData Throughput, ShutdownData Shutdown);
}
