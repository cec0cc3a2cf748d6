using System.Diagnostics;
using System.Net.Sockets;
using FastSidecar.Buffers;
using FastSidecar.Tests.Facade;
using FastSidecar.Tests.Hostile;
using FastSidecar.Tests.Peers;

namespace FastSidecar.Tests.Reliability;

/// <summary>Exit's bound holds whatever is queued, and its counts add up.</summary>
[Collection(HostileServerGroup.Name)]
public sealed class ExitDeadlineTests
{
    // Scheduling noise on a shared 2-core machine; the failure overran the bound by seconds.
    private static readonly TimeSpan Margin = TimeSpan.FromMilliseconds(300);

    [Theory]
    [InlineData(1024, 256 * 1024)]
    [InlineData(256, 1 << 20)]
    public void Exit_with_a_full_queue_of_large_messages_and_a_peer_that_never_reads_returns_within_its_deadlines(int count, int size)
    {
        // Issue: the close framed the whole queue into the output pipe before its deadline started: 2,660 ms for a
        // 200 ms close timeout, memory doubled, the thread not joined and the report short of messages.
        using var peer = new NonReadingPeer();
        var pool = new SidecarBufferPool();
        var options = new SidecarOptions
        {
            BufferPool = pool,
            SendQueueCapacity = 4096,
            CloseTimeout = TimeSpan.FromMilliseconds(200),
            JoinTimeout = TimeSpan.FromMilliseconds(500),
        };
        var ws = SidecarWebSocket.Connect(peer.Uri, options);
        byte[] payload = new byte[size];
        int queued = 0;
        for (int i = 0; i < count; i++)
        {
            if (ws.TrySend(payload))
            {
                queued++;
            }
        }

        Assert.True(queued > count / 2, $"only {queued} of {count} messages were queued");
        var clock = Stopwatch.StartNew();
        ShutdownReport report = ws.Exit();
        clock.Stop();

        TimeSpan bound = options.CloseTimeout + options.JoinTimeout + Margin;
        Assert.True(clock.Elapsed < bound, $"Exit took {clock.Elapsed.TotalMilliseconds:0} ms; bound {bound.TotalMilliseconds:0} ms\n{report}");
        Assert.True(report.ThreadJoined, report.ToString());
        Assert.Equal(queued, report.MessagesSent + report.MessagesNotSent);
        Assert.True(report.MessagesNotSent > 0, report.ToString());
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void A_reset_right_after_Exit_began_is_reported_as_what_happened_on_the_wire()
    {
        // Issue: the report said 1000 (the code we meant to send) with initiator "error".
        using var server = HostileServerSupport.ScriptedAfterHandshake(
            ScriptStep.ExpectClose(1000),
            ScriptStep.ResetTcp());
        var pool = new SidecarBufferPool();
        var ws = SidecarWebSocket.Connect(server.Uri, HostileServerSupport.Options(pool));
        ShutdownReport report = ws.Exit();

        Assert.Equal(CloseInitiator.Error, report.CloseInitiator);
        Assert.Equal(WebSocketCloseCode.Abnormal, report.CloseCode);

        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void A_connection_failing_under_Exit_does_not_report_the_close_code_it_never_completed()
    {
        using var peer = new NonReadingPeer(socket =>
        {
            Thread.Sleep(200);
            socket.LingerState = new LingerOption(true, 0);
            socket.Close(); // a reset while the client is still flushing its queue ahead of the close frame
        });
        var pool = new SidecarBufferPool();
        var ws = SidecarWebSocket.Connect(peer.Uri, new SidecarOptions { BufferPool = pool, SendQueueCapacity = 256, CloseTimeout = TimeSpan.FromSeconds(5) });
        byte[] payload = new byte[64 * 1024];
        while (ws.TrySend(payload))
        {
        }

        ShutdownReport report = ws.Exit();
        Assert.Equal(CloseInitiator.Error, report.CloseInitiator);
        Assert.Equal(WebSocketCloseCode.Abnormal, report.CloseCode);
        Assert.Equal(0, pool.Outstanding);
    }
}
