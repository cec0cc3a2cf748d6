using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using FastSidecar.Benchmarks.Peers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FastSidecar.Benchmarks.Tls;

/// <summary>
/// The cost of TLS, side by side: <see cref="SidecarWebSocket"/> over wss:// against <see cref="ClientWebSocket"/> over
/// wss://, both against the same server, for each of three servers: Kestrel HTTPS in process, a plain blocking
/// <see cref="SslStream"/> server in process (<see cref="BlockingTlsEchoServer"/>) and Node's <c>ws</c> on https in
/// another process (<see cref="NodeTlsEchoPeer"/>); a certificate made here, trusted by both clients through a custom
/// root. Rows: 64 B round-trip percentiles, a receive flood (64 B and 1 KiB), and the send rate (64 B).
/// <c>tls [--round-trips N] [--flood N] [--sends N] [--out DIR] [--wait STRATEGY] [--sections roundtrip,flood,send]
/// [--peers kestrel,blocking,node]</c>.
/// </summary>
internal static class TlsCostRunner
{
    public static int Run(ReadOnlySpan<string> args)
    {
        int roundTrips = 20_000, flood = 200_000, sends = 200_000;
        string outDir = "perf-results/tls";
        WaitStrategy wait = WaitStrategy.SpinThenPark;
        string[] sections = ["roundtrip", "flood", "send"];
        string[] peerNames = ["kestrel", "blocking", "node"];
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--round-trips": roundTrips = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--flood": flood = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--sends": sends = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--out": outDir = args[i + 1]; break;
                case "--wait": wait = Enum.Parse<WaitStrategy>(args[i + 1]); break;
                case "--sections": sections = args[i + 1].Split(','); break;
                case "--peers": peerNames = args[i + 1].Split(','); break;
            }
        }

        using X509Certificate2 certificate = CreateCertificate();
        using WebApplication app = StartServer(certificate, out int port);
        using var blocking = new BlockingTlsEchoServer(certificate);
        using var node = new NodeTlsEchoPeer(certificate);
        var peers = new List<(string Name, Uri Uri)>();
        foreach (string name in peerNames)
        {
            peers.Add(name switch
            {
                "kestrel" => ("Kestrel HTTPS (in process)", new Uri($"wss://localhost:{port}/")),
                "blocking" => ("blocking SslStream server (in process, thread per connection)", blocking.Uri),
                "node" => ("Node ws on https (another process)", node.Uri),
                _ => throw new ArgumentException($"Unknown peer '{name}'."),
            });
        }

        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"# TLS cost: FastSidecar vs ClientWebSocket over wss://, three peers");
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, load average before: {File.ReadAllText("/proc/loadavg").Trim()}; TLS 1.3, ECDSA P-256; FastSidecar wait strategy {wait}.");
        report.AppendLine();
        report.AppendLine("| peer | measure | FastSidecar | ClientWebSocket | ratio (FastSidecar / ClientWebSocket) | TLS target | verdict | plain-row goal | verdict |");
        report.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");

        var tls = Trusting(certificate);
        SidecarOptions options = new() { Tls = tls, SendQueueCapacity = 1 << 16, ReceiveQueueCapacity = 1 << 16, WaitStrategy = wait };
        foreach ((string peer, Uri baseUri) in peers)
        {
            Console.WriteLine($"{peer}: load {File.ReadAllText("/proc/loadavg").Trim()}");
            if (sections.Contains("roundtrip"))
            {
                ((double p50, double p99) sidecar, (double p50, double p99) bcl) = RoundTrips(new Uri(baseUri, "/echo"), options, certificate, roundTrips);
                Row(report, peer, "64 B round trip p50 (µs)", sidecar.p50, bcl.p50, lowerIsBetter: true, target: 1.0, goal: 0.8);
                Row(report, peer, "64 B round trip p99 (µs)", sidecar.p99, bcl.p99, lowerIsBetter: true, target: 1.0, goal: 1.0);
            }

            if (sections.Contains("flood"))
            {
                foreach (int size in new[] { 64, 1024 })
                {
                    // Unmeasured first: a tenth of the flood each, so both clients' receive paths are compiled at
                    // their final tier before the measured run (tiered compilation otherwise lands in the first one).
                    Uri warmUp = new(baseUri, $"/flood?size={size}&count={flood / 10}");
                    SidecarFlood(warmUp, options, flood / 10);
                    BclFlood(warmUp, certificate, flood / 10, size);
                    Uri uri = new(baseUri, $"/flood?size={size}&count={flood}");
                    RawTlsFloodReader.Read(warmUp, certificate, flood / 10);
                    double sidecarFlood = SidecarFlood(uri, options, flood);
                    double bclFlood = BclFlood(uri, certificate, flood, size);
                    double floor = RawTlsFloodReader.Read(uri, certificate, flood);
                    Row(report, peer, $"receive flood {size} B (messages/s)", sidecarFlood, bclFlood, lowerIsBetter: false, target: 1.0, goal: 2.0);
                    FloorRow(report, peer, $"receive flood {size} B: one-thread raw TLS reader (the floor; messages/s)", floor, bclFlood, sidecarFlood);
                }
            }

            if (sections.Contains("send"))
            {
                Uri warmUp = new(baseUri, $"/sink?count={sends / 10}");
                SidecarSends(warmUp, options, sends / 10);
                BclSends(warmUp, certificate, sends / 10);
                Uri uri = new(baseUri, $"/sink?count={sends}");
                double sidecarSend = SidecarSends(uri, options, sends);
                double bclSend = BclSends(uri, certificate, sends);
                Row(report, peer, "send rate 64 B (messages/s)", sidecarSend, bclSend, lowerIsBetter: false, target: 10.0, goal: 10.0);
            }
        }

        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"Counts: {roundTrips} round trips per client and peer in 10 alternating blocks (each client connected once, {roundTrips / 10} unmeasured warm-up round trips first), {flood} flooded messages per size and {sends} sends per client and peer, each after an unmeasured run of a tenth as many. Load average after: {File.ReadAllText("/proc/loadavg").Trim()}.");
        Directory.CreateDirectory(outDir);
        File.WriteAllText(Path.Combine(outDir, "tls.md"), report.ToString());
        Console.WriteLine(report.ToString());
        app.StopAsync().GetAwaiter().GetResult();
        return 0;
    }

    private static void Row(StringBuilder report, string peer, string what, double sidecar, double bcl, bool lowerIsBetter, double target, double goal)
    {
        double ratio = sidecar / bcl;
        string Verdict(double bound) => (lowerIsBetter ? ratio <= bound : ratio >= bound) ? "met" : "NOT met";
        string Bound(double bound) => lowerIsBetter ? $"≤ {bound:0.0#} ×" : $"≥ {bound:0.0#} ×";
        report.AppendLine(CultureInfo.InvariantCulture,
            $"| {peer} | {what} | {sidecar:N1} | {bcl:N1} | {ratio:0.00} | {Bound(target)} | {Verdict(target)} | {Bound(goal)} | {Verdict(goal)} |");
    }

    /// <summary>A contender that is no WebSocket client (a raw reader): its rate beside ClientWebSocket's, and ours as a share of it.</summary>
    private static void FloorRow(StringBuilder report, string peer, string what, double floor, double bcl, double sidecar) =>
        report.AppendLine(CultureInfo.InvariantCulture,
            $"| {peer} | {what} | {floor:N1} | {bcl:N1} | {floor / bcl:0.00} (floor / ClientWebSocket) | FastSidecar reaches {sidecar / floor:0.00} of the floor | | | |");

    /// <summary>
    /// Both clients connected at once and measured in alternating blocks, so a burst of load from other builds lands on
    /// both; the idle client parks (a <see cref="SidecarWebSocket"/> loop only spins right after its own work).
    /// </summary>
    private static ((double, double) Sidecar, (double, double) Bcl) RoundTrips(Uri uri, SidecarOptions options, X509Certificate2 certificate, int count)
    {
        const int Blocks = 10;
        using var sidecar = SidecarWebSocket.Connect(uri, options);
        using ClientWebSocket bcl = ConnectBcl(uri, certificate);
        byte[] payload = new byte[64];
        byte[] buffer = new byte[1024];
        var sidecarSamples = new long[count];
        var bclSamples = new long[count];
        int block = count / Blocks;
        for (int i = 0; i < block; i++)
        {
            SidecarRoundTrip(sidecar, payload);
            BclRoundTrip(bcl, payload, buffer);
        }

        for (int b = 0; b < Blocks; b++)
        {
            for (int i = b * block; i < (b + 1) * block; i++)
            {
                long start = Stopwatch.GetTimestamp();
                SidecarRoundTrip(sidecar, payload);
                sidecarSamples[i] = Stopwatch.GetTimestamp() - start;
            }

            for (int i = b * block; i < (b + 1) * block; i++)
            {
                long start = Stopwatch.GetTimestamp();
                BclRoundTrip(bcl, payload, buffer);
                bclSamples[i] = Stopwatch.GetTimestamp() - start;
            }
        }

        sidecar.Exit();
        bcl.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).GetAwaiter().GetResult();
        return (Percentiles(sidecarSamples.AsSpan(0, block * Blocks).ToArray()), Percentiles(bclSamples.AsSpan(0, block * Blocks).ToArray()));
    }

    private static void SidecarRoundTrip(SidecarWebSocket ws, byte[] payload)
    {
        ws.Send(payload, MessageType.Binary);
        using ReceivedMessage echo = ws.Receive(TimeSpan.FromSeconds(10));
    }

    private static void BclRoundTrip(ClientWebSocket ws, byte[] payload, byte[] buffer)
    {
        ws.SendAsync(payload, WebSocketMessageType.Binary, true, CancellationToken.None).GetAwaiter().GetResult();
        ws.ReceiveAsync(buffer.AsMemory(), CancellationToken.None).AsTask().GetAwaiter().GetResult();
    }

    private static double SidecarFlood(Uri uri, SidecarOptions options, int count)
    {
        using var ws = SidecarWebSocket.Connect(uri, options);
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < count; i++)
        {
            using ReceivedMessage m = ws.Receive(TimeSpan.FromSeconds(30));
        }

        double rate = count / Stopwatch.GetElapsedTime(start).TotalSeconds;
        ws.Exit();
        return rate;
    }

    private static double BclFlood(Uri uri, X509Certificate2 certificate, int count, int size)
    {
        using ClientWebSocket ws = ConnectBcl(uri, certificate);
        byte[] buffer = new byte[size + 16];
        long start = Stopwatch.GetTimestamp();
        double rate = Task.Run(async () =>
        {
            for (int i = 0; i < count; i++)
            {
                ValueWebSocketReceiveResult r;
                do
                {
                    r = await ws.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
                }
                while (!r.EndOfMessage);
            }

            return count / Stopwatch.GetElapsedTime(start).TotalSeconds;
        }).GetAwaiter().GetResult();
        ws.Abort();
        return rate;
    }

    private static double SidecarSends(Uri uri, SidecarOptions options, int count)
    {
        using var ws = SidecarWebSocket.Connect(uri, options);
        byte[] payload = new byte[64];
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < count; i++)
        {
            ws.Send(payload, MessageType.Binary);
        }

        using (ReceivedMessage done = ws.Receive(TimeSpan.FromSeconds(60)))
        {
        }

        double rate = count / Stopwatch.GetElapsedTime(start).TotalSeconds;
        ws.Exit();
        return rate;
    }

    private static double BclSends(Uri uri, X509Certificate2 certificate, int count)
    {
        using ClientWebSocket ws = ConnectBcl(uri, certificate);
        byte[] payload = new byte[64];
        byte[] buffer = new byte[64];
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < count; i++)
        {
            ws.SendAsync(payload, WebSocketMessageType.Binary, true, CancellationToken.None).GetAwaiter().GetResult();
        }

        ws.ReceiveAsync(buffer.AsMemory(), CancellationToken.None).AsTask().GetAwaiter().GetResult();
        double rate = count / Stopwatch.GetElapsedTime(start).TotalSeconds;
        ws.Abort();
        return rate;
    }

    private static ClientWebSocket ConnectBcl(Uri uri, X509Certificate2 certificate)
    {
        var ws = new ClientWebSocket();
        ws.Options.KeepAliveInterval = TimeSpan.Zero;
        ws.Options.RemoteCertificateValidationCallback = (_, cert, _, errors) =>
            cert is not null && (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == 0 && cert.GetCertHashString() == certificate.GetCertHashString();
        ws.ConnectAsync(uri, CancellationToken.None).GetAwaiter().GetResult();
        return ws;
    }

    private static (double, double) Percentiles(long[] ticks)
    {
        Array.Sort(ticks);
        double us = 1e6 / Stopwatch.Frequency;
        return (ticks[ticks.Length / 2] * us, ticks[(int)(ticks.Length * 0.99)] * us);
    }

    private static SslClientAuthenticationOptions Trusting(X509Certificate2 root)
    {
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck, DisableCertificateDownloads = true };
        policy.CustomTrustStore.Add(root);
        return new SslClientAuthenticationOptions { CertificateChainPolicy = policy };
    }

    private static X509Certificate2 CreateCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using X509Certificate2 created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
    }

    private static WebApplication StartServer(X509Certificate2 certificate, out int port)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0, l => l.UseHttps(certificate)));
        WebApplication app = builder.Build();
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.Zero });
        app.Run(Serve);
        app.StartAsync().GetAwaiter().GetResult();
        port = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
        return app;
    }

    private static async Task Serve(HttpContext context)
    {
        using WebSocket ws = await context.WebSockets.AcceptWebSocketAsync();
        byte[] buffer = new byte[64 * 1024];
        int count = int.TryParse(context.Request.Query["count"], CultureInfo.InvariantCulture, out int c) ? c : 0;
        try
        {
            switch (context.Request.Path.Value)
            {
                case "/flood":
                    byte[] message = new byte[int.Parse(context.Request.Query["size"]!, CultureInfo.InvariantCulture)];
                    for (int i = 0; i < count; i++)
                    {
                        await ws.SendAsync(message, WebSocketMessageType.Binary, true, CancellationToken.None);
                    }

                    break;
                case "/sink":
                    for (int i = 0; i < count; i++)
                    {
                        ValueWebSocketReceiveResult r;
                        do
                        {
                            r = await ws.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
                        }
                        while (!r.EndOfMessage);
                    }

                    await ws.SendAsync("done"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
                    break;
            }

            while (true)
            {
                ValueWebSocketReceiveResult r = await ws.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
                if (r.MessageType == WebSocketMessageType.Close)
                {
                    await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    return;
                }

                await ws.SendAsync(buffer.AsMemory(0, r.Count), r.MessageType, r.EndOfMessage, CancellationToken.None);
            }
        }
        catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException)
        {
        }
    }
}
