using System.Text;
using FastSidecar.Buffers;
using FastSidecar.Testing;

namespace FastSidecar.Tests.Facade;

public sealed class SidecarWebSocketTests(EchoServerFixture fixture) : IClassFixture<EchoServerFixture>
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);

    private static SidecarOptions Options(SidecarBufferPool pool, WaitStrategy strategy = WaitStrategy.SpinThenPark) =>
        new() { BufferPool = pool, WaitStrategy = strategy, CloseTimeout = TimeSpan.FromSeconds(2) };

    [Theory]
    [InlineData(WaitStrategy.Blocking)]
    [InlineData(WaitStrategy.SpinThenPark)]
    [InlineData(WaitStrategy.BusySpin)]
    public void Echoes_text_and_binary_messages_of_every_length_encoding(WaitStrategy strategy)
    {
        var pool = new SidecarBufferPool();
        using (var ws = SidecarWebSocket.Connect(fixture.Server.Uri, Options(pool, strategy)))
        {
            Assert.Equal(SidecarWebSocketState.Open, ws.State);
            foreach (int length in new[] { 0, 1, 125, 126, 65_535, 65_536, 1 << 20 })
            {
                byte[] payload = new byte[length];
                Random.Shared.NextBytes(payload);
                ws.Send(payload, MessageType.Binary);
                using ReceivedMessage echo = ws.Receive(Generous);
                Assert.Equal(MessageType.Binary, echo.Type);
                Assert.True(echo.Span.SequenceEqual(payload), $"binary echo of {length} bytes differs");
            }

            ws.Send("héllo, wörld"u8, MessageType.Text);
            using ReceivedMessage text = ws.Receive(Generous);
            Assert.Equal(MessageType.Text, text.Type);
            Assert.Equal("héllo, wörld", text.GetText());

            ShutdownReport report = ws.Exit();
            Assert.Equal(8, report.MessagesSent);
            Assert.Equal(0, report.MessagesNotSent);
        }

        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Messages_from_one_thread_keep_their_order_with_many_threads_sending()
    {
        var pool = new SidecarBufferPool();
        const int Threads = 4;
        const int PerThread = 2_000;
        using var ws = SidecarWebSocket.Connect(fixture.Server.Uri, Options(pool));
        var senders = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            Span<byte> payload = stackalloc byte[8];
            for (int i = 0; i < PerThread; i++)
            {
                BitConverter.TryWriteBytes(payload, t);
                BitConverter.TryWriteBytes(payload[4..], i);
                ws.Send(payload);
            }
        })).ToArray();
        foreach (Thread sender in senders)
        {
            sender.Start();
        }

        int[] next = new int[Threads];
        for (int received = 0; received < Threads * PerThread; received++)
        {
            using ReceivedMessage message = ws.Receive(Generous);
            int thread = BitConverter.ToInt32(message.Span);
            int sequence = BitConverter.ToInt32(message.Span[4..]);
            Assert.Equal(next[thread], sequence);
            next[thread]++;
        }

        foreach (Thread sender in senders)
        {
            sender.Join();
        }

        Assert.All(next, n => Assert.Equal(PerThread, n));
        ws.Exit();
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void A_receive_timeout_ends_the_wait_only_and_the_connection_keeps_working()
    {
        var pool = new SidecarBufferPool();
        using var ws = SidecarWebSocket.Connect(fixture.Server.Uri, Options(pool));
        Assert.Throws<TimeoutException>(() => ws.Receive(TimeSpan.FromMilliseconds(20)));
        Assert.False(ws.TryReceive(out _));
        ws.Send("still here"u8, MessageType.Text);
        using (ReceivedMessage echo = ws.Receive(Generous))
        {
            Assert.Equal("still here", echo.GetText());
        }

        Assert.Equal(SidecarWebSocketState.Open, ws.State);
        ws.Exit();
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Messages_sent_while_connecting_go_out_once_the_connection_opens()
    {
        var pool = new SidecarBufferPool();
        using var ws = SidecarWebSocket.Start(fixture.Server.Uri, Options(pool));
        ws.Send("early"u8, MessageType.Text);
        ws.WaitUntilOpen();
        using (ReceivedMessage echo = ws.Receive(Generous))
        {
            Assert.Equal("early", echo.GetText());
        }

        ws.Exit();
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Connections_can_share_one_loop()
    {
        var pool = new SidecarBufferPool();
        using var loop = new SidecarLoop();
        var shared = new SidecarOptions { BufferPool = pool, Loop = loop };
        using var first = SidecarWebSocket.Connect(fixture.Server.Uri, shared);
        using var second = SidecarWebSocket.Connect(fixture.Server.Uri, shared);
        first.Send("one"u8, MessageType.Text);
        second.Send("two"u8, MessageType.Text);
        using (ReceivedMessage a = first.Receive(Generous))
        using (ReceivedMessage b = second.Receive(Generous))
        {
            Assert.Equal("one", a.GetText());
            Assert.Equal("two", b.GetText());
        }

        ShutdownReport report = first.Exit();
        Assert.Equal(ShutdownOutcome.Skipped, report.Steps[3].Outcome);
        Assert.True(loop.IsRunning);
        second.Send("still"u8, MessageType.Text);
        using (ReceivedMessage c = second.Receive(Generous))
        {
            Assert.Equal("still", c.GetText());
        }

        second.Exit();
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void A_peer_reset_surfaces_as_a_typed_error_on_the_next_call()
    {
        var pool = new SidecarBufferPool();
        using var ws = SidecarWebSocket.Connect(fixture.Server.UriFor(EchoServerFault.Reset), Options(pool));
        ws.Send("trigger"u8);
        var error = Assert.Throws<WebSocketConnectionException>(() => ws.Receive(Generous));
        Assert.Equal(WebSocketCloseCode.Abnormal, error.CloseCode);
        Assert.Equal(SidecarWebSocketState.Closed, ws.State);
        Assert.Throws<WebSocketConnectionException>(() => ws.Send("after"u8));
        ShutdownReport report = ws.Exit();
        Assert.Equal(ShutdownOutcome.Skipped, report.Steps[1].Outcome);
        Assert.IsType<WebSocketConnectionException>(report.Fault);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void A_peer_that_closes_mid_frame_surfaces_as_a_typed_error()
    {
        var pool = new SidecarBufferPool();
        using var ws = SidecarWebSocket.Connect(fixture.Server.UriFor(EchoServerFault.MidFrame), Options(pool));
        ws.Send("trigger"u8);
        Assert.Throws<WebSocketConnectionException>(() => ws.Receive(Generous));
        ws.Exit();
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Connect_refused_is_a_connection_error()
    {
        int port;
        using (var probe = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp))
        {
            probe.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
            port = ((System.Net.IPEndPoint)probe.LocalEndPoint!).Port;
        }

        var pool = new SidecarBufferPool();
        var error = Assert.Throws<WebSocketConnectionException>(() => SidecarWebSocket.Connect(new Uri($"ws://127.0.0.1:{port}/"), Options(pool)));
        Assert.Equal($"Connecting to 127.0.0.1:{port} failed: connection refused.", error.Message);
        Assert.Equal(System.Net.Sockets.SocketError.ConnectionRefused, Assert.IsType<System.Net.Sockets.SocketException>(error.InnerException).SocketErrorCode);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void A_handshake_that_is_never_answered_times_out_within_the_connect_timeout()
    {
        var pool = new SidecarBufferPool();
        var started = System.Diagnostics.Stopwatch.StartNew();
        Assert.Throws<WebSocketHandshakeException>(() =>
            SidecarWebSocket.Connect(fixture.Server.StallingUri, new SidecarOptions { BufferPool = pool, ConnectTimeout = TimeSpan.FromMilliseconds(200) }));
        Assert.InRange(started.Elapsed, TimeSpan.FromMilliseconds(190), TimeSpan.FromSeconds(5));
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Invalid_options_are_rejected_with_a_clear_message()
    {
        Uri uri = fixture.Server.Uri;
        Assert.Contains("CloseTimeout", Assert.Throws<ArgumentOutOfRangeException>(() => SidecarWebSocket.Connect(uri, new SidecarOptions { CloseTimeout = TimeSpan.FromSeconds(-1) })).Message, StringComparison.Ordinal);
        Assert.Contains("power of two", Assert.Throws<ArgumentOutOfRangeException>(() => SidecarWebSocket.Connect(uri, new SidecarOptions { SendQueueCapacity = 1000 })).Message, StringComparison.Ordinal);
        Assert.Contains("power of two", Assert.Throws<ArgumentOutOfRangeException>(() => SidecarWebSocket.Connect(uri, new SidecarOptions { ReceiveQueueCapacity = 3 })).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => SidecarWebSocket.Connect(uri, new SidecarOptions { MaxMessageSize = 0 }));
        // wss:// is a valid scheme now: it gets as far as the TCP connect (refused on port 1).
        Assert.Throws<WebSocketConnectionException>(() => SidecarWebSocket.Connect(new Uri("wss://127.0.0.1:1/")));
        Assert.Throws<ArgumentException>(() => SidecarWebSocket.Connect(new Uri("http://127.0.0.1:1/")));
    }

    [Fact]
    public void Text_messages_round_trip_as_utf8()
    {
        var pool = new SidecarBufferPool();
        using var ws = SidecarWebSocket.Connect(fixture.Server.Uri, Options(pool));
        string text = string.Concat(Enumerable.Repeat("κόσμε 🌍 ", 5000));
        ws.Send(Encoding.UTF8.GetBytes(text), MessageType.Text);
        using (ReceivedMessage echo = ws.Receive(Generous))
        {
            Assert.Equal(text, echo.GetText());
        }

        ws.Exit();
        Assert.Equal(0, pool.Outstanding);
    }
}
