using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using FastSidecar.Buffers;
using FastSidecar.Connection;
using FastSidecar.Testing;
using FastSidecar.Tests.Peers;
using FastSidecar.Tests.Platform;

namespace FastSidecar.Tests.Facade;

/// <summary>
/// Resolving and connecting (RFC 8305): every address of a host is tried, families interleaved, all under
/// <see cref="SidecarOptions.ConnectTimeout"/>, with the host, the port and each address in the error. Every socket
/// an attempt opens is counted in <see cref="SidecarDiagnostics.LiveConnections"/>, so these tests run in the
/// non-parallel collection and check that count after every path. No test sends a packet off this machine: the names
/// used are answered without a query (localhost, *.invalid) or by a resolver the test supplies.
/// </summary>
[Collection(ResourceCountingGroup.Name)]
public sealed class EndpointConnectTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan Margin = TimeSpan.FromSeconds(5);

    [Fact]
    public void Localhost_reaches_a_server_listening_on_the_IPv4_loopback_only()
    {
        using var server = new LoopbackEchoServer(WaitStrategy.Blocking, new SidecarBufferPool());
        AssertEchoes(new Uri($"ws://localhost:{server.Port}/"));
    }

    [Fact]
    public void Localhost_reaches_a_server_listening_on_the_IPv6_loopback_only()
    {
        HostCapabilities.Require(HostCapabilities.IPv6Loopback, "a TCP listener on the IPv6 loopback (::1)");
        using var server = new ScriptedServer(
            [ScriptStep.ReadHandshakeRequest(), ScriptStep.SendValidHandshakeResponse(), ScriptStep.ExpectClose(1000), ScriptStep.CloseTcp()],
            address: IPAddress.IPv6Loopback);
        int baseline = SidecarDiagnostics.LiveConnections;
        using (SidecarWebSocket ws = SidecarWebSocket.Connect(new Uri($"ws://localhost:{server.Port}/"), Options()))
        {
            Assert.Equal(baseline + 1, SidecarDiagnostics.LiveConnections);
            Assert.Equal(WebSocketCloseCode.NormalClosure, ws.Exit().CloseCode);
        }

        server.WaitForConnection(Generous).AssertScriptSucceeded(Generous);
        Assert.Equal(baseline, SidecarDiagnostics.LiveConnections);
    }

    [Fact]
    public void Nothing_listening_on_any_address_names_the_host_the_port_and_each_address_tried()
    {
        using PortReservation port = PortReservation.OnEveryLoopback();
        int baseline = SidecarDiagnostics.LiveConnections;
        int descriptors = OpenDescriptors();

        var error = Assert.Throws<WebSocketConnectionException>(
            () => SidecarWebSocket.Connect(new Uri($"ws://localhost:{port.Port}/"), Options()));

        if (HostCapabilities.IPv6Loopback)
        {
            Assert.Equal($"Connecting to localhost:{port.Port} failed: [::1]:{port.Port} connection refused; 127.0.0.1:{port.Port} connection refused.", error.Message);
        }
        else if (Socket.OSSupportsIPv6)
        {
            // IPv6 without a loopback address: ::1 is still tried, and fails for its own reason.
            Assert.StartsWith($"Connecting to localhost:{port.Port} failed: [::1]:{port.Port} ", error.Message, StringComparison.Ordinal);
            Assert.EndsWith($"; 127.0.0.1:{port.Port} connection refused.", error.Message, StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal($"Connecting to localhost:{port.Port} failed: 127.0.0.1:{port.Port} connection refused.", error.Message);
        }

        Assert.Equal(SocketError.ConnectionRefused, Assert.IsType<SocketException>(error.InnerException).SocketErrorCode);
        Assert.Equal(baseline, SidecarDiagnostics.LiveConnections);
        Assert.Equal(descriptors, OpenDescriptors());
    }

    [Fact]
    public void An_IPv6_literal_is_connected_to_without_a_lookup_and_named_once_in_the_error()
    {
        HostCapabilities.Require(HostCapabilities.IPv6Loopback, "a TCP listener on the IPv6 loopback (::1)");
        using PortReservation port = PortReservation.On(IPAddress.IPv6Loopback, 0);
        var options = Options(lookup: (_, _) => throw new InvalidOperationException("an IP literal must not be looked up"));

        var error = Assert.Throws<WebSocketConnectionException>(
            () => SidecarWebSocket.Connect(new Uri($"ws://[::1]:{port.Port}/"), options));

        Assert.Equal($"Connecting to [::1]:{port.Port} failed: connection refused.", error.Message);
    }

    [Fact]
    public void A_name_in_the_invalid_domain_fails_typed_at_once_without_asking_a_resolver()
    {
        // RFC 6761 §6.4: such names never resolve, and no query for them may leave the machine.
        int lookups = 0;
        var options = Options(connectTimeout: TimeSpan.FromSeconds(5), lookup: (_, _) =>
        {
            Interlocked.Increment(ref lookups);
            return Task.FromResult<IPAddress[]>([IPAddress.Loopback]);
        });
        var clock = Stopwatch.StartNew();

        var error = Assert.Throws<WebSocketConnectionException>(() => SidecarWebSocket.Connect(new Uri("ws://nonexistent.invalid:8080/"), options));

        Assert.True(clock.Elapsed < options.ConnectTimeout, $"took {clock.Elapsed.TotalMilliseconds:0} ms");
        Assert.Equal("Connecting to nonexistent.invalid:8080 failed: could not resolve 'nonexistent.invalid': host not found.", error.Message);
        Assert.Equal(SocketError.HostNotFound, Assert.IsType<SocketException>(error.InnerException).SocketErrorCode);
        Assert.Equal(0, lookups);
    }

    [Fact]
    public void A_resolver_failure_is_a_connection_error_naming_the_host()
    {
        var options = Options(lookup: async (_, _) =>
        {
            await Task.Yield();
            throw new SocketException((int)SocketError.HostNotFound);
        });

        var error = Assert.Throws<WebSocketConnectionException>(() => SidecarWebSocket.Connect(new Uri("ws://nowhere.test/"), options));

        Assert.Equal("Connecting to nowhere.test:80 failed: could not resolve 'nowhere.test': host not found.", error.Message);
    }

    [Fact]
    public void Resolution_counts_inside_the_connect_timeout_and_is_cancelled_at_the_deadline()
    {
        var timeout = TimeSpan.FromMilliseconds(300);
        using var cancelled = new ManualResetEventSlim();
        var options = Options(connectTimeout: timeout, lookup: (_, token) =>
        {
            // A resolver that never answers: only the deadline ends the wait.
            token.Register(cancelled.Set);
            return Task.Delay(Timeout.Infinite, token).ContinueWith<IPAddress[]>(_ => throw new OperationCanceledException(token), TaskScheduler.Default);
        });
        int baseline = SidecarDiagnostics.LiveConnections;
        var clock = Stopwatch.StartNew();

        var error = Assert.Throws<WebSocketConnectionException>(() => SidecarWebSocket.Connect(new Uri("ws://slow.test:9/"), options));

        TimeSpan elapsed = clock.Elapsed;
        Assert.Equal("Connecting to slow.test:9 timed out after 300 ms: resolving 'slow.test' did not finish.", error.Message);
        Assert.True(elapsed >= timeout, $"failed after {elapsed.TotalMilliseconds:0} ms, before the connect timeout");
        Assert.True(elapsed < timeout + Margin, $"took {elapsed.TotalMilliseconds:0} ms");
        Assert.True(cancelled.Wait(Generous), "the lookup was not cancelled");
        Assert.Equal(baseline, SidecarDiagnostics.LiveConnections);
    }

    [Fact]
    public void Start_returns_before_resolving_and_the_lookup_starts_on_the_loop_thread()
    {
        var release = new TaskCompletionSource<IPAddress[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        string? lookupThread = null;
        using var server = new LoopbackEchoServer(WaitStrategy.Blocking, new SidecarBufferPool());
        var options = Options(lookup: (_, _) =>
        {
            lookupThread = Thread.CurrentThread.Name;
            return release.Task;
        });

        using SidecarWebSocket ws = SidecarWebSocket.Start(new Uri($"ws://echo.test:{server.Port}/"), options);
        Assert.Equal(SidecarWebSocketState.Connecting, ws.State);
        release.SetResult([IPAddress.Loopback]); // the answer arrives on a pool thread and is posted back to the loop
        ws.WaitUntilOpen();

        Assert.Equal("FastSidecar echo.test:" + server.Port.ToString(CultureInfo.InvariantCulture), lookupThread);
        ws.Send("resolved"u8, MessageType.Text);
        using (ReceivedMessage echo = ws.Receive(Generous))
        {
            Assert.Equal("resolved", echo.GetText());
        }
    }

    [Fact]
    public void Every_address_is_tried_in_order_until_one_connects()
    {
        // Two dead addresses before the live one, all refused at once: no attempt delay is waited out.
        using var server = new LoopbackEchoServer(WaitStrategy.Blocking, new SidecarBufferPool());
        using PortReservation dead = PortReservation.On(IPAddress.Parse("127.0.0.2"), server.Port);
        var options = Options(lookup: (_, _) => Task.FromResult<IPAddress[]>([IPAddress.Parse("127.0.0.2"), IPAddress.Parse("127.0.0.2"), IPAddress.Loopback]));
        AssertEchoes(new Uri($"ws://several.test:{server.Port}/"), options);
    }

    [Fact]
    public void An_attempt_that_does_not_answer_is_raced_by_the_next_address_after_the_attempt_delay()
    {
        // 127.0.0.2 takes the SYN but never completes the connect (its accept queue is full); 127.0.0.1 serves.
        using var server = new LoopbackEchoServer(WaitStrategy.Blocking, new SidecarBufferPool());
        using var stalled = StalledListener.On(IPAddress.Parse("127.0.0.2"), server.Port);
        var options = Options(connectTimeout: TimeSpan.FromSeconds(10),
            lookup: (_, _) => Task.FromResult<IPAddress[]>([IPAddress.Parse("127.0.0.2"), IPAddress.Loopback]));
        int baseline = SidecarDiagnostics.LiveConnections;
        var clock = Stopwatch.StartNew();

        using (SidecarWebSocket ws = SidecarWebSocket.Connect(new Uri($"ws://raced.test:{server.Port}/"), options))
        {
            TimeSpan elapsed = clock.Elapsed;
            Assert.True(elapsed >= EndpointConnector.AttemptDelay, $"connected after {elapsed.TotalMilliseconds:0} ms: the first address was not tried first");
            Assert.True(elapsed < EndpointConnector.AttemptDelay + Margin, $"took {elapsed.TotalMilliseconds:0} ms");
            // The loser was closed when the winner connected: the connection's socket (and the server's side of it) only.
            Assert.InRange(SidecarDiagnostics.LiveConnections - baseline, 1, 2);
            ws.Send("raced"u8, MessageType.Text);
            using ReceivedMessage echo = ws.Receive(Generous);
            Assert.Equal("raced", echo.GetText());
        }

        Assert.True(SpinWait.SpinUntil(() => SidecarDiagnostics.LiveConnections == baseline, Generous));
    }

    [Fact]
    public void The_connect_timeout_names_the_attempt_that_never_answered()
    {
        using var stalled = StalledListener.On(IPAddress.Loopback, 0);
        int baseline = SidecarDiagnostics.LiveConnections;
        int descriptors = OpenDescriptors();
        var options = Options(connectTimeout: TimeSpan.FromMilliseconds(400));

        var error = Assert.Throws<WebSocketConnectionException>(
            () => SidecarWebSocket.Connect(new Uri($"ws://127.0.0.1:{stalled.Port}/"), options));

        Assert.Equal($"Connecting to 127.0.0.1:{stalled.Port} timed out after 400 ms: 127.0.0.1:{stalled.Port} no answer.", error.Message);
        Assert.Equal(baseline, SidecarDiagnostics.LiveConnections);
        Assert.Equal(descriptors, OpenDescriptors());
    }

    [Fact]
    public void Exit_while_resolving_cancels_the_lookup_and_returns_at_once()
    {
        using var started = new ManualResetEventSlim();
        using var cancelled = new ManualResetEventSlim();
        var options = Options(lookup: (_, token) =>
        {
            token.Register(cancelled.Set);
            started.Set();
            return new TaskCompletionSource<IPAddress[]>().Task; // never answers
        });
        int baseline = SidecarDiagnostics.LiveConnections;
        SidecarWebSocket ws = SidecarWebSocket.Start(new Uri("ws://pending.test/"), options);
        Assert.True(started.Wait(Generous), "the lookup did not start");
        var clock = Stopwatch.StartNew();

        ShutdownReport report = ws.Exit();

        Assert.True(clock.Elapsed < Margin, $"Exit took {clock.Elapsed.TotalMilliseconds:0} ms");
        Assert.True(report.ThreadJoined);
        Assert.True(cancelled.Wait(Generous), "the lookup was not cancelled");
        Assert.Equal(baseline, SidecarDiagnostics.LiveConnections);
    }

    [Fact]
    public void Exit_while_two_attempts_race_closes_both_sockets()
    {
        // Two unanswered addresses: after the attempt delay both are pending when Exit comes.
        using var first = StalledListener.On(IPAddress.Parse("127.0.0.2"), 0);
        using var second = StalledListener.On(IPAddress.Parse("127.0.0.3"), first.Port);
        var options = Options(lookup: (_, _) => Task.FromResult<IPAddress[]>([IPAddress.Parse("127.0.0.2"), IPAddress.Parse("127.0.0.3")]));
        int baseline = SidecarDiagnostics.LiveConnections;
        int descriptors = OpenDescriptors();
        SidecarWebSocket ws = SidecarWebSocket.Start(new Uri($"ws://stalled.test:{first.Port}/"), options);
        Assert.True(SpinWait.SpinUntil(() => SidecarDiagnostics.LiveConnections == baseline + 2, Generous), "the second attempt did not start");

        ws.Exit();

        Assert.Equal(baseline, SidecarDiagnostics.LiveConnections);
        Assert.Equal(descriptors, OpenDescriptors());
    }

    [Fact]
    public void Families_are_interleaved_starting_with_the_resolvers_first()
    {
        IPAddress v6a = IPAddress.Parse("2001:db8::1"), v6b = IPAddress.Parse("2001:db8::2"), v6c = IPAddress.Parse("2001:db8::3");
        IPAddress v4a = IPAddress.Parse("192.0.2.1"), v4b = IPAddress.Parse("192.0.2.2");
        if (Socket.OSSupportsIPv6)
        {
            Assert.Equal([v6a, v4a, v6b, v4b, v6c], EndpointOrder.Interleave([v6a, v6b, v6c, v4a, v4b]));
            Assert.Equal([v4a, v6a, v4b, v6b], EndpointOrder.Interleave([v4a, v4b, v6a, v6b]));
            Assert.Equal([v6a, v4a], EndpointOrder.Interleave([v6a, v6a, v4a, v4a]));
        }
        else
        {
            Assert.Equal([v4a, v4b], EndpointOrder.Interleave([v6a, v4a, v6b, v4b]));
        }
    }

    private static SidecarOptions Options(TimeSpan? connectTimeout = null, Func<string, CancellationToken, Task<IPAddress[]>>? lookup = null) => new()
    {
        BufferPool = new SidecarBufferPool(),
        WaitStrategy = WaitStrategy.Blocking,
        ConnectTimeout = connectTimeout ?? TimeSpan.FromSeconds(10),
        CloseTimeout = TimeSpan.FromSeconds(1),
        HostLookup = lookup,
    };

    private static void AssertEchoes(Uri uri, SidecarOptions? options = null)
    {
        options ??= Options();
        using (SidecarWebSocket ws = SidecarWebSocket.Connect(uri, options))
        {
            ws.Send("hello"u8, MessageType.Text);
            using (ReceivedMessage echo = ws.Receive(Generous))
            {
                Assert.Equal("hello", echo.GetText());
            }

            Assert.Equal(WebSocketCloseCode.NormalClosure, ws.Exit().CloseCode);
        }

        Assert.Equal(0, options.BufferPool.Outstanding);
    }

    private static int OpenDescriptors() => Directory.GetFiles("/proc/self/fd").Length;

    /// <summary>A port bound (not listening) so that nobody else can listen on it while the test connects.</summary>
    private sealed class PortReservation : IDisposable
    {
        private readonly List<Socket> _sockets = [];

        public int Port { get; private set; }

        /// <summary>The same free port on 127.0.0.1 and, where available, ::1.</summary>
        public static PortReservation OnEveryLoopback()
        {
            for (int tries = 0; ; tries++)
            {
                var reservation = On(IPAddress.Loopback, 0);
                if (!Socket.OSSupportsIPv6)
                {
                    return reservation;
                }

                try
                {
                    reservation.Add(IPAddress.IPv6Loopback, reservation.Port);
                    return reservation;
                }
                catch (SocketException) when (tries < 20)
                {
                    reservation.Dispose(); // taken on ::1 by someone else: another port
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressNotAvailable)
                {
                    return reservation; // no IPv6 loopback address on this host: nothing can listen there
                }
            }
        }

        public static PortReservation On(IPAddress address, int port)
        {
            var reservation = new PortReservation();
            reservation.Add(address, port);
            return reservation;
        }

        public void Dispose() => _sockets.ForEach(s => s.Dispose());

        private void Add(IPAddress address, int port)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.Bind(new IPEndPoint(address, port));
            }
            catch
            {
                socket.Dispose();
                throw;
            }

            _sockets.Add(socket);
            Port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        }
    }

    /// <summary>
    /// A listener whose accept queue is full and never drained: a further connect gets no answer (the kernel drops its
    /// SYN), which is how an unreachable address looks, without a packet leaving the machine.
    /// </summary>
    private sealed class StalledListener : IDisposable
    {
        private readonly Socket _listener;
        private readonly List<Socket> _fillers = [];

        private StalledListener(Socket listener) => _listener = listener;

        public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

        public static StalledListener On(IPAddress address, int port)
        {
            var listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(address, port));
            listener.Listen(1);
            var stalled = new StalledListener(listener);
            // Fill the queue: connect until one does not complete promptly.
            for (int i = 0; i < 64; i++)
            {
                var filler = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { Blocking = false };
                stalled._fillers.Add(filler);
                try
                {
                    filler.Connect(listener.LocalEndPoint!);
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
                {
                }

                if (!filler.Poll(200_000, SelectMode.SelectWrite))
                {
                    return stalled;
                }
            }

            stalled.Dispose();
            throw new InvalidOperationException("The listener's accept queue never filled: cannot simulate an unanswered connect on this host.");
        }

        public void Dispose()
        {
            _fillers.ForEach(f => f.Dispose());
            _listener.Dispose();
        }
    }
}
