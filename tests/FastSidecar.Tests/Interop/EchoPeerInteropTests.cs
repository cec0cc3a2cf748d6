using System.Diagnostics;
using System.Globalization;
using System.Text;
using FastSidecar.Buffers;
using FastSidecar.Tests.Peers;

namespace FastSidecar.Tests.Interop;

/// <summary>
/// <see cref="SidecarWebSocket"/> against a real, independent WebSocket server: every byte and type of every echo is
/// checked, pipelined and one at a time, with messages fragmented by the server and server pings in between, and
/// both closing handshakes. Each test has its own buffer pool and ends with nothing rented.
/// </summary>
public abstract class EchoPeerInteropTests<TPeer>
    where TPeer : IEchoPeer
{
    private static readonly TimeSpan ReceiveTimeout = TimeSpan.FromSeconds(30);

    protected EchoPeerInteropTests(TPeer peer) => Peer = peer;

    protected TPeer Peer { get; }

    [Fact]
    public void Pipelined_mixed_messages_up_to_1_MiB_echo_byte_exact()
    {
        List<EchoStep> steps = EchoWorkload.Build(Peer, seed: 6455, messages: 2500, EchoWorkload.MaxSize, fragmentShare: 0.1, pingShare: 0.02);
        var pool = new SidecarBufferPool();
        var ws = Connect(pool);
        var clock = Stopwatch.StartNew();

        // Every message goes out from a second thread while this one checks echoes, so thousands are in flight at once.
        Exception? sendFailure = null;
        var sender = new Thread(() =>
        {
            try
            {
                foreach (EchoStep step in steps)
                {
                    ws.Send(step.Payload, step.Type);
                }
            }
            catch (Exception ex)
            {
                sendFailure = ex;
            }
        }) { IsBackground = true, Name = "interop sender" };
        sender.Start();

        CheckEchoes(ws, steps);
        Assert.True(sender.Join(ReceiveTimeout), "the sender did not finish");
        Assert.Null(sendFailure);
        clock.Stop();

        ShutdownReport report = ws.Exit();
        AssertClosedByUs(report, steps.Count);
        Assert.Equal(0, pool.Outstanding);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"{Peer.Name}: {steps.Count} messages, {EchoWorkload.TotalBytes(steps)} bytes took {clock.Elapsed}");
    }

    [Fact]
    public void Ping_pong_mixed_messages_echo_byte_exact_one_at_a_time()
    {
        List<EchoStep> steps = EchoWorkload.Build(Peer, seed: 1006, messages: 1500, maxSize: 256 * 1024, fragmentShare: 0.15, pingShare: 0.03);
        var pool = new SidecarBufferPool();
        var ws = Connect(pool);

        var pongsDue = new List<string>();
        foreach (EchoStep step in steps)
        {
            ws.Send(step.Payload, step.Type);
            if (step.PongPayload is { } pong)
            {
                pongsDue.Add(pong);
                using ReceivedMessage report = ws.Receive(ReceiveTimeout);
                Assert.Equal(MessageType.Text, report.Type);
                Assert.Equal(EchoProtocol.PongReport(pong), report.GetText());
                pongsDue.Remove(pong);
            }
            else if (step.Echoed)
            {
                using ReceivedMessage echo = ws.Receive(ReceiveTimeout);
                AssertEcho(step, echo);
            }
        }

        Assert.Empty(pongsDue);
        ShutdownReport report2 = ws.Exit();
        AssertClosedByUs(report2, steps.Count);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Server_fragmented_text_with_multibyte_characters_is_reassembled_and_validated()
    {
        var pool = new SidecarBufferPool();
        var ws = Connect(pool);
        string text = string.Concat(Enumerable.Repeat("h\u00e9llo w\u00f6rld \u2713 \U0001F600 ", 300));
        foreach (int frames in new[] { 2, 3, 7, 64 })
        {
            ws.Send(Encoding.UTF8.GetBytes(EchoProtocol.Fragment(frames)), MessageType.Text);
            ws.Send(Encoding.UTF8.GetBytes(text), MessageType.Text);
            using ReceivedMessage echo = ws.Receive(ReceiveTimeout);
            Assert.Equal(MessageType.Text, echo.Type);
            Assert.Equal(text, echo.GetText());
        }

        ShutdownReport report = ws.Exit();
        AssertClosedByUs(report, 8);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Server_ping_is_answered_with_a_pong_carrying_the_same_payload()
    {
        var pool = new SidecarBufferPool();
        var ws = Connect(pool);
        foreach (string payload in new[] { "", "hello", new string('p', 125) })
        {
            ws.Send(Encoding.UTF8.GetBytes(EchoProtocol.Ping(payload)), MessageType.Text);
            using ReceivedMessage answer = ws.Receive(ReceiveTimeout);
            Assert.Equal(MessageType.Text, answer.Type);
            // A peer that pings reports the pong our client sent on its own; the others echo the command.
            string expected = Peer.SupportsServerPing ? EchoProtocol.PongReport(payload) : EchoProtocol.Ping(payload);
            Assert.Equal(expected, answer.GetText());
        }

        // Data still flows after the control frames.
        ws.Send("after the pings"u8, MessageType.Binary);
        using (ReceivedMessage echo = ws.Receive(ReceiveTimeout))
        {
            Assert.Equal(MessageType.Binary, echo.Type);
            Assert.True(echo.Span.SequenceEqual("after the pings"u8));
        }

        ShutdownReport report = ws.Exit();
        AssertClosedByUs(report, 4);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Exit_runs_the_close_handshake_the_peer_answers_and_joins_the_thread()
    {
        var pool = new SidecarBufferPool();
        var ws = Connect(pool);
        ws.Send("one"u8, MessageType.Text);
        ws.Send(new byte[70_000], MessageType.Binary);
        using (ReceivedMessage first = ws.Receive(ReceiveTimeout))
        {
            Assert.Equal("one", first.GetText());
        }

        // A peer may drop an echo it has not written yet when our close frame arrives (Python's websockets answers the
        // close at once and fails the handler's pending send), so the echo must be queued here before Exit begins.
        Assert.True(
            SpinWait.SpinUntil(() => ws.Connection.ReceiveQueue.Count == 1, ReceiveTimeout),
            $"{Peer.Name}: the second echo never arrived");

        ShutdownReport report = ws.Exit();

        AssertClosedByUs(report, 2);
        Assert.Equal(WebSocketCloseCode.NormalClosure, report.CloseCode);
        Assert.Equal(2, report.MessagesSent);
        // The second echo sat in the receive queue, never taken: Exit counts it as received and not consumed.
        Assert.Equal(1, report.MessagesNotConsumed);
        Assert.Equal(2, report.MessagesReceived);
        Assert.False(ws.Loop.IsRunning);
        Assert.Equal(SidecarWebSocketState.Exited, ws.State);
        Assert.Throws<WebSocketClosedException>(() => ws.Send("late"u8));
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Peer_close_with_4000_is_thrown_by_Receive_after_the_earlier_messages()
    {
        var pool = new SidecarBufferPool();
        var ws = Connect(pool);
        const string Reason = "application says stop";
        ws.Send("first"u8, MessageType.Text);
        ws.Send(new byte[] { 1, 2, 3 }, MessageType.Binary);
        ws.Send(Encoding.UTF8.GetBytes(EchoProtocol.Close(4000, Reason)), MessageType.Text);

        // The echoes that came before the close frame stay readable first.
        using (ReceivedMessage first = ws.Receive(ReceiveTimeout))
        {
            Assert.Equal(MessageType.Text, first.Type);
            Assert.Equal("first", first.GetText());
        }

        using (ReceivedMessage second = ws.Receive(ReceiveTimeout))
        {
            Assert.Equal(MessageType.Binary, second.Type);
            Assert.True(second.Span.SequenceEqual(new byte[] { 1, 2, 3 }));
        }

        var closed = Assert.Throws<WebSocketClosedException>(() => ws.Receive(ReceiveTimeout));
        Assert.Equal((WebSocketCloseCode)4000, closed.CloseCode);
        Assert.Equal(Reason, closed.CloseReason);
        Assert.Throws<WebSocketClosedException>(() => ws.Send("after the close"u8));

        ShutdownReport report = ws.Exit();
        Assert.Equal(ShutdownOutcome.Skipped, report.Steps[1].Outcome);
        Assert.Equal(CloseInitiator.Peer, report.CloseInitiator);
        Assert.Equal((WebSocketCloseCode)4000, report.CloseCode);
        Assert.Equal(Reason, report.CloseReason);
        Assert.True(report.ThreadJoined);
        Assert.Equal(0, report.MessagesNotSent);
        Assert.False(ws.Loop.IsRunning);
        Assert.Equal(0, pool.Outstanding);
    }

    private SidecarWebSocket Connect(SidecarBufferPool pool) =>
        SidecarWebSocket.Connect(Peer.Uri, new SidecarOptions
        {
            BufferPool = pool,
            Tls = Peer.ClientTls,
            ConnectTimeout = TimeSpan.FromSeconds(20),
            CloseTimeout = TimeSpan.FromSeconds(10),
            JoinTimeout = TimeSpan.FromSeconds(10),
            SendTimeout = TimeSpan.FromSeconds(30),
        });

    /// <summary>Takes echoes in order; a pong report may come at any point after its ping command, so it is matched by payload.</summary>
    private void CheckEchoes(SidecarWebSocket ws, List<EchoStep> steps)
    {
        var pongsDue = new HashSet<string>(steps.Where(s => s.PongPayload is not null).Select(s => s.PongPayload!));
        var echoes = new Queue<EchoStep>(steps.Where(s => s.Echoed));
        int index = 0;
        while (echoes.Count > 0 || pongsDue.Count > 0)
        {
            ReceivedMessage received;
            try
            {
                received = ws.Receive(ReceiveTimeout);
            }
            catch (TimeoutException)
            {
                Assert.Fail(string.Create(CultureInfo.InvariantCulture,
                    $"{Peer.Name}: no message within {ReceiveTimeout} after {index} echoes; {echoes.Count} echoes and {pongsDue.Count} pong reports due; {ws.PendingSendCount} sends queued, {ws.PendingReceiveCount} received queued; state {ws.State}"));
                throw;
            }

            using ReceivedMessage message = received;
            if (message.Type == MessageType.Text && message.Span.StartsWith(Encoding.UTF8.GetBytes(EchoProtocol.PongReport(""))) && Peer.SupportsServerPing)
            {
                string payload = message.GetText()[EchoProtocol.PongReport("").Length..];
                Assert.True(pongsDue.Remove(payload), $"{Peer.Name}: unexpected pong report '{payload}'");
                continue;
            }

            Assert.True(echoes.Count > 0, $"{Peer.Name}: an extra message of {message.Length} bytes arrived");
            EchoStep expected = echoes.Dequeue();
            AssertEcho(expected, message, index++);
        }
    }

    private void AssertEcho(EchoStep expected, in ReceivedMessage echo, int index = -1)
    {
        string where = string.Create(CultureInfo.InvariantCulture, $"{Peer.Name}, echo {index}, {expected.Payload.Length} bytes {expected.Type}");
        Assert.True(expected.Type == echo.Type, $"{where}: type {echo.Type}");
        Assert.True(expected.Payload.Length == echo.Length, $"{where}: length {echo.Length}");
        int mismatch = expected.Payload.AsSpan().CommonPrefixLength(echo.Span);
        Assert.True(mismatch == expected.Payload.Length, $"{where}: first differing byte at {mismatch}");
    }

    private static void AssertClosedByUs(ShutdownReport report, long sent)
    {
        Assert.Equal(4, report.Steps.Count);
        Assert.True(report.Steps.All(s => s.Outcome == ShutdownOutcome.Completed), report.ToString());
        Assert.Contains("peer answered", report.Steps[1].Detail, StringComparison.Ordinal);
        Assert.Equal(CloseInitiator.Application, report.CloseInitiator);
        Assert.Equal(WebSocketCloseCode.NormalClosure, report.CloseCode);
        Assert.True(report.ThreadJoined, report.ToString());
        Assert.Equal(sent, report.MessagesSent);
        Assert.Equal(0, report.MessagesNotSent);
        Assert.Null(report.Fault);
    }
}

public sealed class KestrelInteropTests(KestrelEchoPeer peer) : EchoPeerInteropTests<KestrelEchoPeer>(peer), IClassFixture<KestrelEchoPeer>;

public sealed class NodeWsInteropTests(NodeWsPeer peer) : EchoPeerInteropTests<NodeWsPeer>(peer), IClassFixture<NodeWsPeer>;

public sealed class PythonWebSocketsInteropTests(PythonWebSocketsPeer peer) : EchoPeerInteropTests<PythonWebSocketsPeer>(peer), IClassFixture<PythonWebSocketsPeer>;

public sealed class KestrelTlsInteropTests(KestrelTlsEchoPeer peer) : EchoPeerInteropTests<KestrelTlsEchoPeer>(peer), IClassFixture<KestrelTlsEchoPeer>;

public sealed class NodeWsTlsInteropTests(NodeWsTlsPeer peer) : EchoPeerInteropTests<NodeWsTlsPeer>(peer), IClassFixture<NodeWsTlsPeer>;

public sealed class PythonWebSocketsTlsInteropTests(PythonWebSocketsTlsPeer peer) : EchoPeerInteropTests<PythonWebSocketsTlsPeer>(peer), IClassFixture<PythonWebSocketsTlsPeer>;
