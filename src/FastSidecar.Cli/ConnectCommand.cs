using System.CommandLine;
using System.Globalization;
using System.Text;

namespace FastSidecar.Cli;

/// <summary>
/// <c>fastsidecar connect &lt;uri&gt;</c>: an interactive client. Lines of standard input go out as text messages;
/// received messages are printed to standard output by a receiver thread. End of input, Ctrl+C or the peer closing
/// ends the session through <see cref="SidecarWebSocket.Exit"/>, whose report goes to standard error.
/// </summary>
internal static class ConnectCommand
{
    // Printed hex is cut here so one huge binary message stays one readable line.
    private const int MaxHexBytes = 64;

    public static Command Create(CliEnvironment environment)
    {
        var uri = new Argument<string>("uri") { Description = "ws:// or wss://host[:port]/path" };
        var subProtocols = new Option<string[]>("--subprotocol") { Description = "A subprotocol to offer (repeatable)", AllowMultipleArgumentsPerToken = false };
        var headers = new Option<string[]>("--header") { Description = "An extra request header, name:value (repeatable)", AllowMultipleArgumentsPerToken = false };
        var linger = new Option<int>("--linger-ms")
        {
            Description = "After end of input, keep printing until no message has arrived for this long",
            DefaultValueFactory = _ => 500,
        };
        var ca = new Option<string?>("--ca") { Description = "For wss://: trust this certificate (PEM or DER) and nothing else; the host name is still checked" };
        var insecure = new Option<bool>("--insecure") { Description = "For wss://: accept any certificate (encrypted, not authenticated; prints a warning)" };
        var proxy = new Option<string?>("--proxy") { Description = "Tunnel through this HTTP proxy with CONNECT: http://[user:password@]host:port" };
        var command = new Command("connect", "Send lines of standard input as text messages and print what arrives")
        {
            uri, subProtocols, headers, linger, ca, insecure, proxy,
        };
        command.SetAction(parse => Run(environment, parse.GetValue(uri)!, parse.GetValue(subProtocols) ?? [], parse.GetValue(headers) ?? [], parse.GetValue(linger),
            new ConnectionSettings(parse.GetValue(ca), parse.GetValue(insecure), parse.GetValue(proxy))));
        return command;
    }

    private sealed record ConnectionSettings(string? CaFile, bool Insecure, string? ProxyUrl);

    private static int Run(CliEnvironment environment, string uriText, string[] subProtocols, string[] headerTexts, int lingerMilliseconds, ConnectionSettings connection)
    {
        TextWriter error = environment.Error;
        if (!Uri.TryCreate(uriText, UriKind.Absolute, out Uri? uri))
        {
            error.WriteLine($"fastsidecar connect: '{uriText}' is not an absolute URI (expected ws://host[:port]/path).");
            return ExitCodes.Usage;
        }

        if (lingerMilliseconds < 0)
        {
            error.WriteLine("fastsidecar connect: --linger-ms must not be negative.");
            return ExitCodes.Usage;
        }

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
                Tls = CliConnectionOptions.Tls(connection.CaFile, connection.Insecure, error),
                Proxy = CliConnectionOptions.Proxy(connection.ProxyUrl),
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

        error.WriteLine(ws.SubProtocol is null ? $"connected to {uri}" : $"connected to {uri} (subprotocol {ws.SubProtocol})");
        var session = new Session(environment, ws, TimeSpan.FromMilliseconds(lingerMilliseconds));
        return session.Run();
    }

    /// <summary>One connected session: a stdin reader, a receiver thread, and the main thread waiting for the first reason to stop.</summary>
    private sealed class Session(CliEnvironment environment, SidecarWebSocket ws, TimeSpan linger)
    {
        // The first reason to stop: end of input (after the linger), Ctrl+C, or the connection ending. A task rather than
        // an event because the stdin thread may outlive Run (blocked on a read that cannot be cancelled) and must find
        // nothing disposed when it wakes.
        private readonly TaskCompletionSource _stop = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _received;
        private volatile Exception? _receiveFault;
        private volatile bool _interrupted;

        public int Run()
        {
            using (environment.SubscribeInterrupt(() =>
            {
                _interrupted = true;
                _stop.TrySetResult();
            }))
            {
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
                environment.Error.WriteLine(report.ToString().TrimEnd());

                if (_receiveFault is { } fault && !_interrupted)
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
                while (environment.In.ReadLine() is { } line)
                {
                    ws.Send(Encoding.UTF8.GetBytes(line), MessageType.Text);
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
            while (!_stop.Task.Wait(linger))
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

        private void Receive()
        {
            try
            {
                while (true)
                {
                    using ReceivedMessage message = ws.Receive();
                    Print(message);
                    Interlocked.Increment(ref _received);
                }
            }
            catch (WebSocketClosedException e) when (ws.State == SidecarWebSocketState.Exited || IsNormalClose(e))
            {
                // Exit woke us, or the peer closed normally.
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
