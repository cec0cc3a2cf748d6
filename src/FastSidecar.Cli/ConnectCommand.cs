using System.CommandLine;
using System.Globalization;
using System.Text;

namespace FastSidecar.Cli;

/// <summary>
/// <c>fastsidecar connect &lt;uri&gt;</c>: an interactive client. Lines of standard input (or the <c>--execute</c>
/// messages) go out as text messages (binary with <c>--binary</c>); received messages are printed to standard output
/// by a receiver thread. End of input, Ctrl+C or the peer closing ends the session through
/// <see cref="SidecarWebSocket.Exit()"/>, whose report goes to standard error unless <c>--quiet</c>.
/// Exit codes: 0 done (also when the peer closed normally), 1 the connection failed, 2 usage, 130 Ctrl+C.
/// </summary>
internal static class ConnectCommand
{
    // Printed hex is cut here so one huge binary message stays one readable line.
    private const int MaxHexBytes = 64;

    public static Command Create(CliEnvironment environment)
    {
        var uri = new Argument<string>("uri") { Description = "ws:// or wss://host[:port]/path" };
        var subProtocols = new Option<string[]>("--subprotocol", "-s") { Description = "A subprotocol to offer (repeatable)", AllowMultipleArgumentsPerToken = false };
        var headers = new Option<string[]>("--header", "-H") { Description = "An extra request header, name:value (repeatable)", AllowMultipleArgumentsPerToken = false };
        var linger = new Option<int>("--linger-ms")
        {
            Description = "After end of input, keep printing until no message has arrived for this many milliseconds",
            DefaultValueFactory = _ => 500,
        };
        var execute = new Option<string[]>("--execute", "-x")
        {
            Description = "Send this message instead of reading standard input (repeatable), print the replies, and exit",
            AllowMultipleArgumentsPerToken = false,
        };
        var wait = new Option<int>("--wait-ms", "--wait", "-w")
        {
            Description = "With --execute: keep printing replies until none has arrived for this many milliseconds, then exit",
            DefaultValueFactory = _ => 1_000,
        };
        var binary = new Option<bool>("--binary", "-b") { Description = "Send messages as binary (the UTF-8 bytes of each line) instead of text" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Print only received messages and errors: no connection line, no shutdown report" };
        var deflate = new Option<bool>("--deflate") { Description = "Offer permessage-deflate (RFC 7692) with the default parameters" };
        var ca = new Option<string?>("--ca") { Description = "For wss://: trust this certificate (PEM or DER) and nothing else; the host name is still checked" };
        var insecure = new Option<bool>("--insecure") { Description = "For wss://: accept any certificate (encrypted, not authenticated; prints a warning)" };
        var proxy = new Option<string?>("--proxy") { Description = "Tunnel through this HTTP proxy with CONNECT: http://[user:password@]host:port" };
        var reconnect = new Option<bool>("--reconnect", "-r")
        {
            Description = "Reconnect after a lost connection (backoff with full jitter); lines typed meanwhile go out on the new connection",
        };
        var reconnectMax = new Option<int>("--reconnect-max-ms")
        {
            Description = "With --reconnect: the longest wait between attempts, in milliseconds",
            DefaultValueFactory = _ => 30_000,
        };
        var subscribe = new Option<string[]>("--subscribe")
        {
            Description = "A text message sent first on every connection, ahead of anything queued (repeatable; with --reconnect, resent on each reconnect)",
            AllowMultipleArgumentsPerToken = false,
        };
        var command = new Command("connect", "Send lines of standard input (or --execute messages) and print what arrives")
        {
            uri, subProtocols, headers, linger, execute, wait, binary, quiet, deflate, ca, insecure, proxy, reconnect, reconnectMax, subscribe,
        };
        command.SetAction(parse => Run(environment, parse.GetValue(uri)!, new Settings(
            parse.GetValue(subProtocols) ?? [], parse.GetValue(headers) ?? [], parse.GetValue(linger), parse.GetValue(execute) ?? [],
            parse.GetValue(wait), parse.GetValue(binary), parse.GetValue(quiet), parse.GetValue(deflate),
            parse.GetValue(ca), parse.GetValue(insecure), parse.GetValue(proxy),
            parse.GetValue(reconnect), parse.GetValue(reconnectMax), parse.GetValue(subscribe) ?? [])));
        return command;
    }

    private sealed record Settings(string[] SubProtocols, string[] Headers, int LingerMilliseconds, string[] Execute, int WaitMilliseconds, bool Binary, bool Quiet, bool Deflate,
        string? CaFile, bool Insecure, string? ProxyUrl, bool Reconnect = false, int ReconnectMaxMilliseconds = 30_000, string[]? Subscribe = null);

    private static int Run(CliEnvironment environment, string uriText, Settings settings)
    {
        TextWriter error = environment.Error;
        if (!Uri.TryCreate(uriText, UriKind.Absolute, out Uri? uri))
        {
            error.WriteLine($"fastsidecar connect: '{uriText}' is not an absolute URI (expected ws://host[:port]/path).");
            return ExitCodes.Usage;
        }

        if (settings.LingerMilliseconds < 0 || settings.WaitMilliseconds < 0 || settings.ReconnectMaxMilliseconds < 0)
        {
            error.WriteLine("fastsidecar connect: --linger-ms, --wait-ms and --reconnect-max-ms must not be negative.");
            return ExitCodes.Usage;
        }

        string[] headerTexts = settings.Headers;
        string[] subProtocols = settings.SubProtocols;

        var headers = new List<KeyValuePair<string, string>>(headerTexts.Length);
        foreach (string text in headerTexts)
        {
            int colon = text.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                error.WriteLine($"fastsidecar connect: header '{text}' is not name:value.");
                return ExitCodes.Usage;
            }

            headers.Add(new(text[..colon].Trim(), text[(colon + 1)..].Trim()));
        }

        SidecarWebSocket ws;
        try
        {
            var options = new SidecarOptions
            {
                SubProtocols = subProtocols,
                Headers = headers,
                Deflate = settings.Deflate ? new System.Net.WebSockets.WebSocketDeflateOptions() : null,
                Tls = CliConnectionOptions.Tls(settings.CaFile, settings.Insecure, error),
                Proxy = CliConnectionOptions.Proxy(settings.ProxyUrl),
                Reconnect = ReconnectPolicyFor(settings),
            };
            ws = SidecarWebSocket.Connect(uri, options);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or UriFormatException or System.Security.Cryptography.CryptographicException or IOException)
        {
            error.WriteLine($"fastsidecar connect: {e.Message}");
            return ExitCodes.Usage;
        }
        catch (SidecarWebSocketException e)
        {
            error.WriteLine($"fastsidecar connect: cannot connect to {uri}: {e.Message}");
            return ExitCodes.Failure;
        }

        var session = new Session(environment, ws, settings);
        return session.Run(connected: ws.SubProtocol is null ? $"connected to {uri}" : $"connected to {uri} (subprotocol {ws.SubProtocol})");
    }

    /// <summary>The policy for --reconnect, or for --subscribe alone (its hook sends the subscriptions on the one connection).</summary>
    private static ReconnectPolicy? ReconnectPolicyFor(Settings settings)
    {
        string[] subscriptions = settings.Subscribe ?? [];
        if (!settings.Reconnect && subscriptions.Length == 0)
        {
            return null;
        }

        TimeSpan max = TimeSpan.FromMilliseconds(settings.ReconnectMaxMilliseconds);
        return new ReconnectPolicy
        {
            InitialDelay = max < TimeSpan.FromMilliseconds(100) ? max : TimeSpan.FromMilliseconds(100),
            MaxDelay = max,
            ShouldReconnect = settings.Reconnect ? ReconnectPolicy.IsTransient : static _ => false,
            OnConnected = subscriptions.Length == 0 ? null : sender =>
            {
                foreach (string subscription in subscriptions)
                {
                    sender.Send(subscription);
                }
            },
        };
    }

    /// <summary>One connected session: a stdin reader, a receiver thread, and the main thread waiting for the first reason to stop.</summary>
    private sealed class Session(CliEnvironment environment, SidecarWebSocket ws, Settings settings)
    {
        // How long to keep printing after the last message went out: --wait-ms with --execute, --linger-ms otherwise.
        private readonly TimeSpan _linger = TimeSpan.FromMilliseconds(settings.Execute.Length > 0 ? settings.WaitMilliseconds : settings.LingerMilliseconds);
        // The first reason to stop: end of input (after the linger), Ctrl+C, or the connection ending. A task rather than
        // an event because the stdin thread may outlive Run (blocked on a read that cannot be cancelled) and must find
        // nothing disposed when it wakes.
        private readonly TaskCompletionSource _stop = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _received;
        private volatile Exception? _receiveFault;
        private volatile bool _interrupted;

        public int Run(string connected)
        {
            using (environment.SubscribeInterrupt(() =>
            {
                _interrupted = true;
                _stop.TrySetResult();
            }))
            {
                // Said only once Ctrl+C is ours: an interrupt right after this line must still end through Exit.
                if (!settings.Quiet)
                {
                    environment.Error.WriteLine(connected);
                }

                var receiver = new Thread(Receive) { IsBackground = true, Name = "connect receiver" };
                receiver.Start();

                // A background thread, because a read of the console cannot be cancelled: on Ctrl+C the process
                // ends with the reader still blocked, which is harmless.
                var reader = new Thread(ReadInput) { IsBackground = true, Name = "connect stdin" };
                reader.Start();
                _stop.Task.Wait();

                ShutdownReport report = ws.Exit();
                receiver.Join(TimeSpan.FromSeconds(5));
                environment.Out.Flush();
                if (!settings.Quiet)
                {
                    environment.Error.WriteLine(report.ToString().TrimEnd());
                }

                if (_interrupted)
                {
                    return ExitCodes.Interrupted;
                }

                if (_receiveFault is { } fault)
                {
                    environment.Error.WriteLine($"fastsidecar connect: the connection ended: {fault.Message}");
                    return ExitCodes.Failure;
                }

                return ExitCodes.Success;
            }
        }

        private void ReadInput()
        {
            try
            {
                if (settings.Execute.Length > 0)
                {
                    foreach (string message in settings.Execute)
                    {
                        SendOne(message);
                    }
                }
                else
                {
                    while (environment.In.ReadLine() is { } line)
                    {
                        SendOne(line);
                    }
                }
            }
            catch (SidecarWebSocketException)
            {
                // The connection ended; the receiver reports why.
                _stop.TrySetResult();
                return;
            }

            // End of input: what was sent may still be answered, so wait until the answers stop coming.
            long seen = Interlocked.Read(ref _received);
            while (!_stop.Task.Wait(_linger))
            {
                long now = Interlocked.Read(ref _received);
                if (now == seen)
                {
                    break;
                }

                seen = now;
            }

            _stop.TrySetResult();
        }

        private void SendOne(string message)
        {
            if (settings.Binary)
            {
                ws.Send(Encoding.UTF8.GetBytes(message), MessageType.Binary);
            }
            else
            {
                ws.Send(message); // encoded straight into the pooled buffer
            }
        }

        private void Receive()
        {
            try
            {
                while (true)
                {
                    using ReceivedMessage message = ws.Receive();
                    if (message.Reconnect is { } notice)
                    {
                        if (!settings.Quiet)
                        {
                            environment.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                                $"connection lost: {notice.Cause.Message} ({notice.MessagesSent} sent, {notice.MessagesInDoubt} in doubt); reconnecting"));
                        }

                        continue;
                    }

                    Print(message);
                    Interlocked.Increment(ref _received);
                }
            }
            catch (WebSocketClosedException e) when (ws.State == SidecarWebSocketState.Exited || IsNormalClose(e))
            {
                // Exit woke us, or the peer closed normally: a normal end, said once, not a fault.
                if (ws.State != SidecarWebSocketState.Exited && !settings.Quiet)
                {
                    environment.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"closed by the peer: {(e.CloseCode is { } code ? (int)code : 1005)}{(string.IsNullOrEmpty(e.CloseReason) ? "" : " " + e.CloseReason)}"));
                }
            }
            catch (SidecarWebSocketException e)
            {
                _receiveFault = e;
            }
            finally
            {
                _stop.TrySetResult();
            }
        }

        private static bool IsNormalClose(WebSocketClosedException e) =>
            e.CloseCode is null or WebSocketCloseCode.NormalClosure or WebSocketCloseCode.EndpointUnavailable;

        private void Print(in ReceivedMessage message)
        {
            if (message.Type == MessageType.Text)
            {
                environment.Out.WriteLine(message.GetText());
                return;
            }

            ReadOnlySpan<byte> shown = message.Span[..Math.Min(message.Length, MaxHexBytes)];
            string hex = Convert.ToHexStringLower(shown) + (message.Length > MaxHexBytes ? "…" : "");
            environment.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[binary {message.Length} bytes] {hex}"));
        }
    }
}
