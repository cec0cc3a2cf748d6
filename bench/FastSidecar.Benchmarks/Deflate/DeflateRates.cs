using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Runtime.InteropServices;
using System.Text;
using FastSidecar.Buffers;
using FastSidecar.Protocol.Deflate;

namespace FastSidecar.Benchmarks.Deflate;

/// <summary>
/// <c>deflate [--messages N] [--rounds R] [--out FILE]</c>: permessage-deflate side by side with <c>ClientWebSocket</c>
/// (<c>DangerousDeflateOptions</c>) against the same <see cref="RawDeflateFloodPeer"/>: receive rate (the server
/// floods pre-compressed market-data ticks of 100–2,000 B), send rate (the client compresses, the server only counts),
/// plus compression ratio and CPU per message of the codec alone, on the ticks and on random bytes.
/// </summary>
/// <remarks>
/// Both clients compress every message (the sidecar with <c>MinimumDeflateSize = 0</c>, as ClientWebSocket does) and
/// keep their compression context; the server declines its own context takeover so its frames can be made before the
/// run. Rounds alternate the contenders; the best round of each is reported, with every round in the table.
/// </remarks>
internal static class DeflateRates
{
    public static int Run(ReadOnlySpan<string> args)
    {
        int messages = 200_000, rounds = 3;
        string? output = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--messages": messages = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--rounds": rounds = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--out": output = args[++i]; break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }

        List<byte[]> ticks = Ticks(1000);
        messages = messages / ticks.Count * ticks.Count;
        var report = new StringBuilder();
        report.AppendLine("# permessage-deflate: FastSidecar vs ClientWebSocket (DangerousDeflateOptions)").AppendLine();
        report.AppendLine(Invariant($"Command: `dotnet run -c Release --project bench/FastSidecar.Benchmarks -- deflate {string.Join(' ', args.ToArray())}`  "));
        report.AppendLine(Invariant($"{RuntimeInformation.FrameworkDescription}, {Environment.ProcessorCount} cores, {DateTimeOffset.UtcNow:u}, load average {LoadAverage()}.  "));
        report.AppendLine(Invariant($"Messages: JSON market-data ticks, 100–2,000 B (mean {ticks.Average(t => t.Length):F0} B), {messages:N0} per run, both clients compress every message with context takeover.")).AppendLine();

        Codec(report, "JSON ticks 100–2,000 B", ticks);
        var random = new Random(7692);
        Codec(report, "random bytes 100–2,000 B", [.. ticks.Select(t => { byte[] b = new byte[t.Length]; random.NextBytes(b); return b; })]);

        using var peer = new RawDeflateFloodPeer(ticks);
        var rows = new List<(string What, string Who, double Rate, double BytesPerMessage)>();
        for (int round = 0; round < rounds; round++)
        {
            rows.Add(("receive", "ClientWebSocket", ClientReceive(peer, messages), double.NaN));
            (double rate, double bytes) = SidecarReceive(peer, messages);
            rows.Add(("receive", "FastSidecar", rate, bytes));
            rows.Add(("send", "ClientWebSocket", ClientSend(peer, ticks, messages), double.NaN));
            (rate, bytes) = SidecarSend(peer, ticks, messages);
            rows.Add(("send", "FastSidecar", rate, bytes));
            Console.WriteLine(string.Join("; ", rows.TakeLast(4).Select(r => Invariant($"{r.What} {r.Who} {r.Rate:N0}/s"))));
        }

        report.AppendLine("## Rates (messages per second; best of the rounds)").AppendLine();
        report.AppendLine("| direction | ClientWebSocket | FastSidecar | ratio | FastSidecar allocated per message (whole process) | all rounds (CWS / sidecar) |");
        report.AppendLine("|---|---|---|---|---|---|");
        foreach (string what in new[] { "receive", "send" })
        {
            var cws = rows.Where(r => r.What == what && r.Who == "ClientWebSocket").ToList();
            var sidecar = rows.Where(r => r.What == what && r.Who == "FastSidecar").ToList();
            double best = sidecar.Max(r => r.Rate), baseline = cws.Max(r => r.Rate);
            report.AppendLine(Invariant($"| {what} | {baseline:N0} | {best:N0} | {best / baseline:F2} × | {sidecar.Min(r => r.BytesPerMessage):F1} B | {string.Join(", ", cws.Select(r => r.Rate.ToString("N0", CultureInfo.InvariantCulture)))} / {string.Join(", ", sidecar.Select(r => r.Rate.ToString("N0", CultureInfo.InvariantCulture)))} |"));
        }

        report.AppendLine().AppendLine("Allocation column: `GC.GetTotalAllocatedBytes(precise)` over the timed run divided by the messages, so it includes the peer thread, the timer and everything else in the process; 0 means no message allocated anywhere.");
        Console.WriteLine(report);
        if (output is not null)
        {
            File.WriteAllText(output, report.ToString());
        }

        return 0;
    }

    private static List<byte[]> Ticks(int count)
    {
        var random = new Random(1);
        string[] symbols = ["EURUSD", "USDJPY", "GBPUSD", "BTC-USD", "ETH-USD", "AAPL", "MSFT", "ES-Z6"];
        var result = new List<byte[]>(count);
        for (int i = 0; i < count; i++)
        {
            int target = random.Next(100, 2001);
            var text = new StringBuilder("{\"type\":\"book\",\"levels\":[");
            while (text.Length < target - 40)
            {
                text.Append(Invariant($"{{\"sym\":\"{symbols[random.Next(symbols.Length)]}\",\"px\":{100 + (random.NextDouble() * 10):F4},\"qty\":{random.Next(1, 500)},\"ts\":{1_764_000_000_000 + i}}},"));
            }

            text.Length = Math.Min(text.Length, target - 3);
            text.Append("]}");
            while (text.Length < target)
            {
                text.Append(' ');
            }

            result.Add(Encoding.ASCII.GetBytes(text.ToString()));
        }

        return result;
    }

    private static void Codec(StringBuilder report, string name, List<byte[]> messages)
    {
        var pool = new SidecarBufferPool();
        using var deflater = new MessageDeflater();
        using var inflater = new MessageInflater();
        deflater.Start(15, contextTakeover: true, pool);
        inflater.Start(15, contextTakeover: true);
        byte[] output = new byte[4096];
        long raw = 0, compressed = 0;
        var deflateClock = new Stopwatch();
        var inflateClock = new Stopwatch();
        byte[] scratch = new byte[8192];
        const int Passes = 20;
        for (int pass = 0; pass < Passes; pass++)
        {
            foreach (byte[] message in messages)
            {
                deflateClock.Start();
                ReadOnlySpan<byte> packed = deflater.Compress(message);
                deflateClock.Stop();
                packed.CopyTo(scratch);
                PerMessageDeflate.Tail.CopyTo(scratch.AsSpan(packed.Length));
                ReadOnlySpan<byte> input = scratch.AsSpan(0, packed.Length + 4);
                inflateClock.Start();
                int written = inflater.Inflate(ref input, output);
                inflateClock.Stop();
                Debug.Assert(written == message.Length);
                raw += message.Length;
                compressed += packed.Length;
            }
        }

        deflater.Stop();
        inflater.Stop();
        long count = (long)messages.Count * Passes;
        report.AppendLine(Invariant($"- codec, {name}: ratio {(double)compressed / raw:F3} (compressed / raw), deflate {deflateClock.Elapsed.TotalMicroseconds / count:F2} µs and inflate {inflateClock.Elapsed.TotalMicroseconds / count:F2} µs per message (one core, level 6, 15-bit window, context takeover)"));
    }

    private static (double Rate, double BytesPerMessage) SidecarReceive(RawDeflateFloodPeer peer, int messages)
    {
        using SidecarWebSocket ws = SidecarWebSocket.Connect(peer.FloodUri(messages), Options());
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        ws.Send("go"u8, MessageType.Text);
        for (int i = 0; i < messages; i++)
        {
            using ReceivedMessage message = ws.Receive(TimeSpan.FromSeconds(30));
        }

        clock.Stop();
        double perMessage = (double)(GC.GetTotalAllocatedBytes(precise: true) - allocated) / messages;
        ws.Exit();
        return (messages / clock.Elapsed.TotalSeconds, perMessage);
    }

    private static (double Rate, double BytesPerMessage) SidecarSend(RawDeflateFloodPeer peer, List<byte[]> ticks, int messages)
    {
        using SidecarWebSocket ws = SidecarWebSocket.Connect(peer.SinkUri(messages), Options());
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < messages; i++)
        {
            ws.Send(ticks[i % ticks.Count], MessageType.Text);
        }

        using (ReceivedMessage done = ws.Receive(TimeSpan.FromSeconds(60)))
        {
            clock.Stop();
        }

        double perMessage = (double)(GC.GetTotalAllocatedBytes(precise: true) - allocated) / messages;
        ws.Exit();
        return (messages / clock.Elapsed.TotalSeconds, perMessage);
    }

    private static SidecarOptions Options() => new()
    {
        Deflate = new WebSocketDeflateOptions(),
        MinimumDeflateSize = 0,
        WaitStrategy = WaitStrategy.SpinThenPark,
        KeepAliveInterval = TimeSpan.Zero,
        SendTimeout = TimeSpan.FromSeconds(60),
    };

    private static ClientWebSocket NewClient(Uri uri)
    {
        var client = new ClientWebSocket();
        client.Options.KeepAliveInterval = TimeSpan.Zero;
        client.Options.DangerousDeflateOptions = new WebSocketDeflateOptions();
        client.ConnectAsync(uri, CancellationToken.None).GetAwaiter().GetResult();
        return client;
    }

    private static double ClientReceive(RawDeflateFloodPeer peer, int messages) => Task.Run(async () =>
    {
        using ClientWebSocket client = NewClient(peer.FloodUri(messages));
        byte[] buffer = new byte[64 * 1024];
        var clock = Stopwatch.StartNew();
        await client.SendAsync("go"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        for (int received = 0; received < messages;)
        {
            ValueWebSocketReceiveResult result = await client.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
            if (result.EndOfMessage)
            {
                received++;
            }
        }

        clock.Stop();
        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        return messages / clock.Elapsed.TotalSeconds;
    }).GetAwaiter().GetResult();

    private static double ClientSend(RawDeflateFloodPeer peer, List<byte[]> ticks, int messages) => Task.Run(async () =>
    {
        using ClientWebSocket client = NewClient(peer.SinkUri(messages));
        byte[] buffer = new byte[64];
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < messages; i++)
        {
            await client.SendAsync(ticks[i % ticks.Count], WebSocketMessageType.Text, true, CancellationToken.None);
        }

        await client.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
        clock.Stop();
        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        return messages / clock.Elapsed.TotalSeconds;
    }).GetAwaiter().GetResult();

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
