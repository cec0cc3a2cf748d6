using System.Net.WebSockets;
using FastSidecar.Buffers;
using FastSidecar.Testing;

namespace FastSidecar.Tests.Facade;

/// <summary>The calls a .NET user expects: text sends, a close with a status, a non-throwing receive, cancellation.</summary>
public sealed class TextCloseAndCancellationTests(EchoServerFixture fixture) : IClassFixture<EchoServerFixture>
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);

    private static SidecarOptions Options(SidecarBufferPool pool) => new() { BufferPool = pool, CloseTimeout = TimeSpan.FromSeconds(2) };

    [Fact]
    public void Send_string_arrives_as_a_text_message_with_the_same_characters()
    {
        var pool = new SidecarBufferPool();
        using (var ws = SidecarWebSocket.Connect(fixture.Server.Uri, Options(pool)))
        {
            foreach (string text in new[] { "", "{\"a\":1}", "héllo, wörld ✓ 𝄞", new string('ü', 5_000) })
            {
                ws.Send(text);
                using ReceivedMessage echo = ws.Receive(Generous);
                Assert.Equal(MessageType.Text, echo.Type);
                Assert.Equal(text, echo.GetText());
            }
        }

        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Send_char_span_and_TrySend_text_arrive_as_text()
    {
        var pool = new SidecarBufferPool();
        using (var ws = SidecarWebSocket.Connect(fixture.Server.Uri, Options(pool)))
        {
            ReadOnlySpan<char> span = "span: ∑".AsSpan();
            ws.Send(span);
            Assert.True(ws.TrySend("try: ∂"));
            Assert.True(ws.TrySend("try span".AsSpan()));
            foreach (string expected in new[] { "span: ∑", "try: ∂", "try span" })
            {
                using ReceivedMessage echo = ws.Receive(Generous);
                Assert.Equal(MessageType.Text, echo.Type);
                Assert.Equal(expected, echo.GetText());
            }
        }

        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void A_lone_surrogate_goes_out_as_the_replacement_character_so_the_text_stays_valid_utf8()
    {
        using var ws = SidecarWebSocket.Connect(fixture.Server.Uri, Options(new SidecarBufferPool()));
        ws.Send("a\uD800b");
        using ReceivedMessage echo = ws.Receive(Generous);
        Assert.Equal("a\uFFFDb", echo.GetText());
    }

    [Fact]
    public void Exit_with_a_status_and_description_closes_with_them()
    {
        using var ws = SidecarWebSocket.Connect(fixture.Server.Uri, Options(new SidecarBufferPool()));
        Assert.Null(ws.CloseStatus);
        ShutdownReport report = ws.Exit(WebSocketCloseStatus.EndpointUnavailable, "going away ✓");
        Assert.Equal(WebSocketCloseCode.EndpointUnavailable, report.CloseCode);
        Assert.Equal("going away ✓", report.CloseReason);
        Assert.Equal(CloseInitiator.Application, report.CloseInitiator);
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, ws.CloseStatus);
        Assert.Equal("going away ✓", ws.CloseStatusDescription);
        Assert.Same(report, ws.Exit()); // idempotent: the first status is the one that went out
    }

    [Fact]
    public void Parameterless_Exit_still_closes_with_1000()
    {
        using var ws = SidecarWebSocket.Connect(fixture.Server.Uri, Options(new SidecarBufferPool()));
        ShutdownReport report = ws.Exit();
        Assert.Equal(WebSocketCloseCode.NormalClosure, report.CloseCode);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, ws.CloseStatus);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(999)]
    [InlineData(1004)] // reserved
    [InlineData(1005)] // "no status": never on the wire
    [InlineData(1006)] // "abnormal": never on the wire
    [InlineData(1015)] // "TLS failure": never on the wire
    [InlineData(2999)] // reserved for the protocol
    [InlineData(5000)]
    public void Exit_refuses_a_status_an_endpoint_may_not_send(int status)
    {
        using var ws = SidecarWebSocket.Connect(fixture.Server.Uri, Options(new SidecarBufferPool()));
        Assert.Throws<ArgumentOutOfRangeException>(() => ws.Exit((WebSocketCloseStatus)status, null));
        Assert.Equal(SidecarWebSocketState.Open, ws.State); // refused before anything started
    }

    [Fact]
    public void Exit_refuses_a_description_longer_than_123_utf8_bytes()
    {
        using var ws = SidecarWebSocket.Connect(fixture.Server.Uri, Options(new SidecarBufferPool()));
        Assert.Throws<ArgumentException>(() => ws.Exit(WebSocketCloseStatus.NormalClosure, new string('é', 62))); // 124 bytes
        Assert.Equal(SidecarWebSocketState.Open, ws.State);
        ShutdownReport report = ws.Exit(WebSocketCloseStatus.NormalClosure, new string('x', 123));
        Assert.Equal(new string('x', 123), report.CloseReason);
    }

    [Fact]
    public void TryReceive_with_a_timeout_returns_false_and_leaves_the_connection_open()
    {
        using var ws = SidecarWebSocket.Connect(fixture.Server.Uri, Options(new SidecarBufferPool()));
        Assert.False(ws.TryReceive(TimeSpan.FromMilliseconds(20), out ReceivedMessage none));
        Assert.Equal(0, none.Length);
        Assert.Equal(SidecarWebSocketState.Open, ws.State);
        ws.Send("still here");
        Assert.True(ws.TryReceive(Generous, out ReceivedMessage echo));
        using (echo)
        {
            Assert.Equal("still here", echo.GetText());
        }
    }

    [Fact]
    public void TryReceive_with_a_timeout_reports_a_peer_close_as_a_value_not_an_exception()
    {
        using var ws = SidecarWebSocket.Connect(fixture.Server.UriFor(EchoServerFault.CloseAfterEcho), Options(new SidecarBufferPool()));
        ws.Send("one");
        Assert.True(ws.TryReceive(Generous, out ReceivedMessage echo));
        echo.Dispose();
        Assert.False(ws.TryReceive(Generous, out _));
        Assert.Equal(SidecarWebSocketState.Closed, ws.State);
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, ws.CloseStatus);
        Assert.False(ws.TryReceive(TimeSpan.Zero, out _)); // and again, still without throwing
    }

    [Fact]
    public void Receive_cancellation_ends_the_wait_only()
    {
        using var ws = SidecarWebSocket.Connect(fixture.Server.Uri, Options(new SidecarBufferPool()));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        Assert.ThrowsAny<OperationCanceledException>(() => ws.Receive(cts.Token));
        Assert.Equal(SidecarWebSocketState.Open, ws.State);
        ws.Send("after the cancel");
        using ReceivedMessage echo = ws.Receive(Generous, CancellationToken.None);
        Assert.Equal("after the cancel", echo.GetText());
    }

    [Fact]
    public void Receive_with_an_already_canceled_token_throws_without_taking_a_waiting_message()
    {
        using var ws = SidecarWebSocket.Connect(fixture.Server.Uri, Options(new SidecarBufferPool()));
        ws.Send("waiting");
        Assert.True(SpinWait.SpinUntil(() => ws.PendingReceiveCount == 1, Generous));
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => ws.Receive(Generous, cts.Token));
        Assert.True(ws.TryReceive(TimeSpan.Zero, out ReceivedMessage waiting)); // still first in line
        using (waiting)
        {
            Assert.Equal("waiting", waiting.GetText());
        }
    }

    [Fact]
    public void Send_cancellation_on_a_full_queue_ends_the_wait_and_the_message_is_not_queued()
    {
        var pool = new SidecarBufferPool();
        // The stalling server never answers the handshake: sends queue up until the queue (2 slots) is full.
        var options = new SidecarOptions { BufferPool = pool, SendQueueCapacity = 2, SendTimeout = Generous };
        var ws = SidecarWebSocket.Start(fixture.Server.StallingUri, options);
        Assert.True(ws.TrySend("1"u8));
        Assert.True(ws.TrySend("2"u8));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        Assert.ThrowsAny<OperationCanceledException>(() => ws.Send("3"u8, MessageType.Binary, cts.Token));
        Assert.ThrowsAny<OperationCanceledException>(() => ws.Send("4".AsSpan(), cts.Token));
        Assert.Equal(2, ws.PendingSendCount);
        Assert.Equal(SidecarWebSocketState.Connecting, ws.State);
        ShutdownReport report = ws.Exit();
        Assert.Equal(2, report.MessagesNotSent);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void WaitUntilOpen_cancellation_ends_the_wait_and_the_connection_keeps_connecting()
    {
        using var ws = SidecarWebSocket.Start(fixture.Server.StallingUri, Options(new SidecarBufferPool()));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        Assert.ThrowsAny<OperationCanceledException>(() => ws.WaitUntilOpen(cts.Token));
        Assert.Equal(SidecarWebSocketState.Connecting, ws.State);
    }

    [Fact]
    public void Connect_cancellation_throws_and_leaves_nothing_running()
    {
        var pool = new SidecarBufferPool();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        Assert.ThrowsAny<OperationCanceledException>(() => SidecarWebSocket.Connect(fixture.Server.StallingUri, Options(pool), cts.Token));
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Connect_with_a_token_that_is_never_canceled_opens_as_usual()
    {
        using var cts = new CancellationTokenSource();
        using var ws = SidecarWebSocket.Connect(fixture.Server.Uri, Options(new SidecarBufferPool()), cts.Token);
        Assert.Equal(SidecarWebSocketState.Open, ws.State);
    }
}
