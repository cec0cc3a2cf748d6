using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
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
/// wss://, both against the same in-process Kestrel HTTPS server (a certificate made here, trusted by both clients
/// through a custom root): 64 B round-trip percentiles, a receive flood (64 B and 1 KiB), and the send rate (64 B).
/// <c>tls [--round-trips N] [--flood N] [--sends N] [--out DIR]</c>.
/// </summary>
internal static class TlsCostRunner
{
    public static int Run(ReadOnlySpan<string> args)
    {
        int roundTrips = 20_000, flood = 200_000, sends = 200_000;
        string outDir = "perf-results/tls";
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--round-trips": roundTrips = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--flood": flood = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--sends": sends = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--out": outDir = args[i + 1]; break;
            }
        }

        using X509Certificate2 certificate = CreateCertificate();
        using WebApplication app = StartServer(certificate, out int port);
        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"# TLS cost: FastSidecar vs ClientWebSocket over wss:// (same Kestrel HTTPS server)");
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, load average before: {File.ReadAllText("/proc/loadavg").Trim()}; TLS 1.3, ECDSA P-256.");
        report.AppendLine();
        report.AppendLine("| measure | FastSidecar | ClientWebSocket | ratio (FastSidecar / ClientWebSocket) | goal | verdict |");
        report.AppendLine("| --- | --- | --- | --- | --- | --- |");

        var baseUri = new Uri($"wss://localhost:{port}/");
        var tls = Trusting(certificate);

        // Round trips, 64 B.
        (double p50, double p99) sidecarRt = SidecarRoundTrips(baseUri, tls, roundTrips);
        (double p50, double p99) bclRt = BclRoundTrips(baseUri, certificate, roundTrips);
        Row(report, "64 B round trip p50 (µs)", sidecarRt.p50, bclRt.p50, lowerIsBetter: true, goal: 0.8);
        Row(report, "64 B round trip p99 (µs)", sidecarRt.p99, bclRt.p99, lowerIsBetter: true, goal: 1.0);

        foreach (int size in new[] { 64, 1024 })
        {
            double sidecarFlood = SidecarFlood(baseUri, tls, size, flood);
            double bclFlood = BclFlood(baseUri, certificate, size, flood);
            Row(report, $"receive flood {size} B (messages/s)", sidecarFlood, bclFlood, lowerIsBetter: false, goal: 2.0);
        }

        double sidecarSend = SidecarSends(baseUri, tls, sends);
        double bclSend = BclSends(baseUri, certificate, sends);
        Row(report, "send rate 64 B (messages/s)", sidecarSend, bclSend, lowerIsBetter: false, goal: 10.0);

        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"Counts: {roundTrips} round trips each (after {roundTrips / 10} warm-up), {flood} flooded messages per size, {sends} sends. Load average after: {File.ReadAllText("/proc/loadavg").Trim()}.");
        Directory.CreateDirectory(outDir);
        File.WriteAllText(Path.Combine(outDir, "tls.md"), report.ToString());
        Console.WriteLine(report.ToString());
        app.StopAsync().GetAwaiter().GetResult();
        return 0;
    }

    private static void Row(StringBuilder report, string what, double sidecar, double bcl, bool lowerIsBetter, double goal)
    {
        double ratio = sidecar / bcl;
        bool met = lowerIsBetter ? ratio <= goal : ratio >= goal;
        string goalText = lowerIsBetter ? $"≤ {goal:0.0#} ×" : $"≥ {goal:0.0#} ×";
        report.AppendLine(CultureInfo.InvariantCulture, $"| {what} | {sidecar:N1} | {bcl:N1} | {ratio:0.00} | {goalText} | {(met ? "met" : "NOT met")} |");
    }

    private static SidecarOptions Options(SslClientAuthenticationOptions tls) => new() { Tls = tls, SendQueueCapacity = 1 << 16, ReceiveQueueCapacity = 1 << 16 };

    private static (double, double) SidecarRoundTrips(Uri baseUri, SslClientAuthenticationOptions tls, int count)
    {
        using var ws = SidecarWebSocket.Connect(new Uri(baseUri, "/echo"), Options(tls));
        byte[] payload = new byte[64];
        var samples = new long[count];
        for (int i = -count / 10; i < count; i++)
        {
            long start = Stopwatch.GetTimestamp();
            ws.Send(payload, MessageType.Binary);
            using (ReceivedMessage echo = ws.Receive(TimeSpan.FromSeconds(10)))
            {
            }

            if (i >= 0)
            {
                samples[i] = Stopwatch.GetTimestamp() - start;
            }
        }

        ws.Exit();
        return Percentiles(samples);
    }

    private static (double, double) BclRoundTrips(Uri baseUri, X509Certificate2 certificate, int count)
    {
        using ClientWebSocket ws = ConnectBcl(new Uri(baseUri, "/echo"), certificate);
        byte[] payload = new byte[64];
        byte[] buffer = new byte[1024];
        var samples = new long[count];
        for (int i = -count / 10; i < count; i++)
        {
            long start = Stopwatch.GetTimestamp();
            ws.SendAsync(payload, WebSocketMessageType.Binary, true, CancellationToken.None).GetAwaiter().GetResult();
            ws.ReceiveAsync(buffer.AsMemory(), CancellationToken.None).AsTask().GetAwaiter().GetResult();
            if (i >= 0)
            {
                samples[i] = Stopwatch.GetTimestamp() - start;
            }
        }

        ws.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).GetAwaiter().GetResult();
        return Percentiles(samples);
    }

    private static double SidecarFlood(Uri baseUri, SslClientAuthenticationOptions tls, int size, int count)
    {
        using var ws = SidecarWebSocket.Connect(new Uri(baseUri, $"/flood?size={size}&count={count}"), Options(tls));
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < count; i++)
        {
            using ReceivedMessage m = ws.Receive(TimeSpan.FromSeconds(30));
        }

        double rate = count / Stopwatch.GetElapsedTime(start).TotalSeconds;
        ws.Exit();
        return rate;
    }

    private static double BclFlood(Uri baseUri, X509Certificate2 certificate, int size, int count)
    {
        using ClientWebSocket ws = ConnectBcl(new Uri(baseUri, $"/flood?size={size}&count={count}"), certificate);
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

    private static double SidecarSends(Uri baseUri, SslClientAuthenticationOptions tls, int count)
    {
        using var ws = SidecarWebSocket.Connect(new Uri(baseUri, $"/sink?count={count}"), Options(tls));
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

    private static double BclSends(Uri baseUri, X509Certificate2 certificate, int count)
    {
        using ClientWebSocket ws = ConnectBcl(new Uri(baseUri, $"/sink?count={count}"), certificate);
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
