using System.Diagnostics;
using FastSidecar.Buffers;
using FastSidecar.Testing;

namespace FastSidecar.Tests.Facade;

public sealed class ShutdownProtocolTests(EchoServerFixture fixture) : IClassFixture<EchoServerFixture>
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);

    [Fact]
    public void Exit_with_a_responsive_peer_completes_every_step_and_joins_the_thread()
    {
        var pool = new SidecarBufferPool();
        var ws = SidecarWebSocket.Connect(fixture.Server.Uri, new SidecarOptions { BufferPool = pool });
        ws.Send("a"u8);
        ws.Send("b"u8);
        using (ws.Receive(Generous))
        {
        }

        ShutdownReport report = ws.Exit();
        Assert.Equal(4, report.Steps.Count);
        Assert.All(report.Steps, step => Assert.Equal(ShutdownOutcome.Completed, step.Outcome));
        Assert.Equal(WebSocketCloseCode.NormalClosure, report.CloseCode);
        Assert.Equal(CloseInitiator.Application, report.CloseInitiator);
        Assert.True(report.ThreadJoined);
        Assert.Equal(2, report.MessagesSent);
        Assert.Equal(0, report.MessagesNotSent);
        // Two echoes arrive before the peer's close; one was taken, so one is reported as not consumed.
        Assert.Equal(1, report.MessagesNotConsumed);
        Assert.False(ws.Loop.IsRunning);
        Assert.Contains("close the WebSocket", report.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Exit_with_a_silent_peer_returns_within_the_close_timeout_and_a_small_margin()
    {
        var pool = new SidecarBufferPool();
        TimeSpan closeTimeout = TimeSpan.FromMilliseconds(300);
        var ws = SidecarWebSocket.Connect(fixture.Server.UriFor(EchoServerFault.Silent), new SidecarOptions { BufferPool = pool, CloseTimeout = closeTimeout });
        var clock = Stopwatch.StartNew();
        ShutdownReport report = ws.Exit();
        clock.Stop();
        Assert.Equal(ShutdownOutcome.TimedOut, report.Steps[1].Outcome);
        Assert.InRange(report.Steps[1].Duration, closeTimeout - TimeSpan.FromMilliseconds(5), closeTimeout + TimeSpan.FromSeconds(1));
        Assert.True(clock.Elapsed < closeTimeout + TimeSpan.FromSeconds(2), $"Exit took {clock.Elapsed}");
        Assert.True(report.ThreadJoined);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Exit_after_the_peer_closed_skips_the_close_and_keeps_received_messages_readable_first()
    {
        var pool = new SidecarBufferPool();
        var ws = SidecarWebSocket.Connect(fixture.Server.UriFor(EchoServerFault.CloseAfterEcho), new SidecarOptions { BufferPool = pool });
        ws.Send("last words"u8, MessageType.Text);
        using (ReceivedMessage echo = ws.Receive(Generous))
        {
            Assert.Equal("last words", echo.GetText());
        }

        var closed = Assert.Throws<WebSocketClosedException>(() => ws.Receive(Generous));
        Assert.Equal(WebSocketCloseCode.EndpointUnavailable, closed.CloseCode);
        Assert.Equal("going away", closed.CloseReason);
        ShutdownReport report = ws.Exit();
        Assert.Equal(ShutdownOutcome.Skipped, report.Steps[1].Outcome);
        Assert.Equal(CloseInitiator.Peer, report.CloseInitiator);
        Assert.Equal(WebSocketCloseCode.EndpointUnavailable, report.CloseCode);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Exit_after_a_socket_error_reports_the_fault()
    {
        var pool = new SidecarBufferPool();
        var ws = SidecarWebSocket.Connect(fixture.Server.UriFor(EchoServerFault.Reset), new SidecarOptions { BufferPool = pool });
        ws.Send("x"u8);
        Assert.Throws<WebSocketConnectionException>(() => ws.Receive(Generous));
        ShutdownReport report = ws.Exit();
        Assert.Equal(CloseInitiator.Error, report.CloseInitiator);
        Assert.IsType<WebSocketConnectionException>(report.Fault);
        Assert.True(report.ThreadJoined);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Exit_while_connect_is_in_progress_aborts_the_connect_promptly()
    {
        var pool = new SidecarBufferPool();
        var ws = SidecarWebSocket.Start(fixture.Server.StallingUri, new SidecarOptions { BufferPool = pool, ConnectTimeout = TimeSpan.FromSeconds(30) });
        Exception? connectError = null;
        var waiter = new Thread(() =>
        {
            try
            {
                ws.WaitUntilOpen();
            }
            catch (Exception e)
            {
                connectError = e;
            }
        });
        waiter.Start();
        var clock = Stopwatch.StartNew();
        ShutdownReport report = ws.Exit();
        Assert.True(waiter.Join(Generous));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"Exit took {clock.Elapsed}");
        Assert.IsAssignableFrom<SidecarWebSocketException>(connectError);
        Assert.Equal(CloseInitiator.None, report.CloseInitiator);
        Assert.True(report.ThreadJoined);
        Assert.Equal(SidecarWebSocketState.Exited, ws.State);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Exit_from_several_threads_at_once_runs_once_and_gives_everyone_the_same_report()
    {
        var pool = new SidecarBufferPool();
        var ws = SidecarWebSocket.Connect(fixture.Server.Uri, new SidecarOptions { BufferPool = pool });
        var reports = new ShutdownReport[6];
        using var go = new Barrier(reports.Length);
        var threads = Enumerable.Range(0, reports.Length).Select(i => new Thread(() =>
        {
            go.SignalAndWait();
            reports[i] = ws.Exit();
        })).ToArray();
        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        foreach (Thread thread in threads)
        {
            Assert.True(thread.Join(Generous));
        }

        Assert.All(reports, report => Assert.Same(reports[0], report));
        Assert.Same(reports[0], ws.Exit());
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Exit_wakes_threads_blocked_in_send_and_receive_with_a_typed_error()
    {
        var pool = new SidecarBufferPool();
        using var peer = new NonReadingPeer();
        var ws = SidecarWebSocket.Connect(peer.Uri, new SidecarOptions
        {
            BufferPool = pool, SendQueueCapacity = 2, SendTimeout = TimeSpan.FromSeconds(30), CloseTimeout = TimeSpan.FromMilliseconds(200),
        });
        Exception? receiveError = null;
        Exception? sendError = null;
        var receiver = new Thread(() =>
        {
            try
            {
                ws.Receive(TimeSpan.FromSeconds(30)).Dispose();
            }
            catch (Exception e)
            {
                receiveError = e;
            }
        });
        long queued = 0;
        var sender = new Thread(() =>
        {
            byte[] chunk = new byte[1 << 20];
            try
            {
                // The peer never reads: the socket fills, the loop stops draining, the queue fills, Send blocks.
                while (true)
                {
                    ws.Send(chunk);
                    Interlocked.Increment(ref queued);
                }
            }
            catch (Exception e)
            {
                sendError = e;
            }
        });
        receiver.Start();
        sender.Start();
        // A sender parks on a full queue also while the loop is still draining it into a socket that has room left;
        // only a queue that stays full (and a sender that stays parked) says the peer stopped reading.
        bool Stalled() => ws.PendingSendCount == 2 && sender.ThreadState.HasFlag(System.Threading.ThreadState.WaitSleepJoin);
        var stalledFor = Stopwatch.StartNew();
        Assert.True(SpinWait.SpinUntil(() =>
        {
            if (!Stalled())
            {
                stalledFor.Restart();
            }

            return stalledFor.ElapsedMilliseconds >= 100;
        }, Generous), "the sender never blocked on a full queue");
        ShutdownReport report = ws.Exit();
        Assert.True(receiver.Join(Generous));
        Assert.True(sender.Join(Generous));
        Assert.IsType<WebSocketClosedException>(receiveError);
        Assert.IsType<WebSocketClosedException>(sendError);
        Assert.Throws<WebSocketClosedException>(() => ws.Send("late"u8));
        Assert.Throws<WebSocketClosedException>(() => ws.TryReceive(out _));
        Assert.True(report.MessagesNotSent >= 2, $"not sent: {report.MessagesNotSent}");
        Assert.Equal(Interlocked.Read(ref queued), report.MessagesSent + report.MessagesNotSent);
        Assert.True(report.ThreadJoined);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Exit_twice_and_dispose_after_a_fault_are_harmless()
    {
        var pool = new SidecarBufferPool();
        var ws = SidecarWebSocket.Connect(fixture.Server.UriFor(EchoServerFault.MidFrame), new SidecarOptions { BufferPool = pool });
        ws.Send("x"u8);
        Assert.Throws<WebSocketConnectionException>(() => ws.Receive(Generous));
        ShutdownReport first = ws.Exit();
        ShutdownReport second = ws.Exit();
        Assert.Same(first, second);
        ws.Dispose();
        Assert.Equal(0, pool.Outstanding);
    }
}
