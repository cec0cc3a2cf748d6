using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace FastSidecar.Cli;

/// <summary>
/// <c>fastsidecar autobahn</c>: the client driver of the Autobahn test protocol (getCaseCount, runCase, updateReports),
/// built on <see cref="SidecarWebSocket"/> with the library's default options, so the verdicts describe what users get.
/// </summary>
/// <remarks>
/// Each case is an echo: every message goes back with its type until the connection ends. A case must never stall the
/// run, so every wait is bounded twice: per receive, and per case. Every connection is ended with
/// <see cref="SidecarWebSocket.Exit()"/>, whatever happened to it.
/// </remarks>
internal static class AutobahnCommand
{
    // The message after whose echo the driver starts the closing handshake itself (a convention of the
    // conformance server beyond the Autobahn protocol).
    private static readonly byte[] s_closeMe = "close-me"u8.ToArray();

    public static Command Create()
    {
        var url = new Option<string>("--url")
        {
            Description = "The test server's base address.",
            DefaultValueFactory = _ => "ws://127.0.0.1:9001",
        };
        var agent = new Option<string>("--agent")
        {
            Description = "The agent name the reports are filed under.",
            DefaultValueFactory = _ => "fastsidecar",
        };
        var cases = new Option<string?>("--cases")
        {
            Description = "Run only the cases numbered N-M (1-based, inclusive), or a single case N.",
        };
        var receiveTimeout = new Option<int>("--receive-timeout-ms")
        {
            Description = "Milliseconds one Receive may wait before the case is given up.",
            DefaultValueFactory = _ => 30_000,
        };
        var caseTimeout = new Option<int>("--case-timeout-ms")
        {
            Description = "Milliseconds one case may take in all before it is given up.",
            DefaultValueFactory = _ => 600_000,
        };

        var deflate = new Option<bool>("--deflate")
        {
            Description = "Offer permessage-deflate (client_max_window_bits; the suite's sections 12 and 13).",
        };
        var deflateMinSize = new Option<int>("--deflate-min-size")
        {
            Description = "With --deflate: messages shorter than this go out uncompressed (SidecarOptions.MinimumDeflateSize).",
            DefaultValueFactory = _ => 0,
        };

        var ca = new Option<string?>("--ca")
        {
            Description = "For wss://: trust this certificate (PEM or DER) and nothing else; the host name is still checked.",
        };
        var command = new Command("autobahn", "Runs the Autobahn client test protocol (echo every message) against a test server.")
        {
            url, agent, cases, receiveTimeout, caseTimeout, deflate, deflateMinSize, ca,
        };
        command.SetAction(parse =>
        {
            var settings = new Settings(
                new Uri(parse.GetValue(url)!.TrimEnd('/')),
                parse.GetValue(agent)!,
                TimeSpan.FromMilliseconds(parse.GetValue(receiveTimeout)),
                TimeSpan.FromMilliseconds(parse.GetValue(caseTimeout)),
                new SidecarOptions
                {
                    Tls = CliConnectionOptions.Tls(parse.GetValue(ca), insecure: false, Console.Error),
                    Deflate = parse.GetValue(deflate) ? new System.Net.WebSockets.WebSocketDeflateOptions() : null,
                    MinimumDeflateSize = parse.GetValue(deflateMinSize),
                });
            return Run(settings, parse.GetValue(cases));
        });
        return command;
    }

    private static int Run(Settings settings, string? caseRange)
    {
        int count;
        try
        {
            count = int.Parse(FetchText(settings, "/getCaseCount"), NumberStyles.Integer, CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is SidecarWebSocketException or TimeoutException or FormatException)
        {
            Console.Error.WriteLine($"getCaseCount failed: {e.Message}");
            return 2;
        }

        (int first, int last) = ParseRange(caseRange, count);
        Console.WriteLine($"{count} cases on the server; running {first}..{last}");
        var outcomes = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int n = first; n <= last; n++)
        {
            string id = CaseId(settings, n);
            var clock = Stopwatch.StartNew();
            string outcome = RunCase(settings, n);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"case {n} {id}: {outcome} ({clock.Elapsed.TotalMilliseconds:F0} ms)"));
            string kind = outcome.Split(' ', 2)[0];
            outcomes[kind] = outcomes.GetValueOrDefault(kind) + 1;
        }

        try
        {
            FetchText(settings, "/updateReports?agent=" + Uri.EscapeDataString(settings.Agent), expectMessage: false);
        }
        catch (Exception e) when (e is SidecarWebSocketException or TimeoutException)
        {
            Console.Error.WriteLine($"updateReports failed: {e.Message}");
            return 2;
        }

        Console.WriteLine("driver outcomes: " + string.Join(", ", outcomes.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key} {p.Value}")));
        return 0;
    }

    /// <summary>One case: echo until the connection ends, the close-me convention fires, or a bound runs out.</summary>
    private static string RunCase(Settings settings, int n)
    {
        var uri = new Uri(settings.BaseUri, string.Create(CultureInfo.InvariantCulture,
            $"/runCase?case={n}&agent={Uri.EscapeDataString(settings.Agent)}"));
        SidecarWebSocket ws;
        try
        {
            ws = SidecarWebSocket.Connect(uri, settings.Options);
        }
        catch (SidecarWebSocketException e)
        {
            return $"connect-failed {e.GetType().Name}: {e.Message}";
        }

        long echoed = 0;
        string outcome;
        var clock = Stopwatch.StartNew();
        try
        {
            while (true)
            {
                TimeSpan left = settings.CaseTimeout - clock.Elapsed;
                if (left <= TimeSpan.Zero)
                {
                    outcome = $"case-timeout after {echoed} echoes";
                    break;
                }

                ReceivedMessage message;
                try
                {
                    message = ws.Receive(left < settings.ReceiveTimeout ? left : settings.ReceiveTimeout);
                }
                catch (TimeoutException)
                {
                    outcome = $"receive-timeout after {echoed} echoes";
                    break;
                }

                bool closeMe;
                using (message)
                {
                    ws.Send(message.Span, message.Type);
                    closeMe = message.Type == MessageType.Text && message.Span.SequenceEqual(s_closeMe);
                }

                echoed++;
                if (closeMe)
                {
                    outcome = $"closed-by-us after {echoed} echoes";
                    break;
                }
            }
        }
        catch (SidecarWebSocketException e)
        {
            string code = e.CloseCode is { } c ? ((int)c).ToString(CultureInfo.InvariantCulture) : "-";
            outcome = $"ended {e.GetType().Name} code={code} after {echoed} echoes";
        }
        catch (TimeoutException e)
        {
            outcome = $"send-timeout after {echoed} echoes: {e.Message}";
        }

        ShutdownReport report = ws.Exit();
        return outcome + $"; exit close={FormatCode(report.CloseCode)}";
    }

    private static string FormatCode(WebSocketCloseCode? code) =>
        code is { } c ? ((int)c).ToString(CultureInfo.InvariantCulture) : "-";

    /// <summary>The case's id ("1.1.1") from getCaseInfo; the number itself when the server does not say.</summary>
    private static string CaseId(Settings settings, int n)
    {
        try
        {
            string info = FetchText(settings, string.Create(CultureInfo.InvariantCulture, $"/getCaseInfo?case={n}"));
            using var document = JsonDocument.Parse(info);
            return document.RootElement.TryGetProperty("id", out JsonElement id) ? id.GetString() ?? "?" : "?";
        }
        catch (Exception e) when (e is SidecarWebSocketException or TimeoutException or JsonException)
        {
            return "?";
        }
    }

    /// <summary>Connects to a service endpoint, takes its one text message (if it sends one), and lets the server close.</summary>
    private static string FetchText(Settings settings, string pathAndQuery, bool expectMessage = true)
    {
        using SidecarWebSocket ws = SidecarWebSocket.Connect(new Uri(settings.BaseUri, pathAndQuery), settings.Options);
        try
        {
            // updateReports sends nothing: the wait ends with the server's close, which surfaces as an exception.
            using ReceivedMessage message = ws.Receive(expectMessage ? settings.ReceiveTimeout : settings.CaseTimeout);
            return Encoding.UTF8.GetString(message.Span);
        }
        catch (WebSocketClosedException) when (!expectMessage)
        {
            return string.Empty;
        }
        finally
        {
            ws.Exit();
        }
    }

    private static (int First, int Last) ParseRange(string? range, int count)
    {
        if (string.IsNullOrWhiteSpace(range))
        {
            return (1, count);
        }

        string[] parts = range.Split('-', 2, StringSplitOptions.TrimEntries);
        int first = int.Parse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture);
        int last = parts.Length == 2 ? int.Parse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture) : first;
        return (Math.Max(1, first), Math.Min(count, last));
    }

    private sealed record Settings(Uri BaseUri, string Agent, TimeSpan ReceiveTimeout, TimeSpan CaseTimeout, SidecarOptions Options);
}
