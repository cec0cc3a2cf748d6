using FastSidecar.Buffers;
using FastSidecar.Testing;
using FastSidecar.Tests.Facade;

namespace FastSidecar.Tests.Reconnect;

[Collection(ResourceCountingGroup.Name)]
public sealed class ReconnectLeakTests
{
    [Fact]
    public void A_thousand_reconnects_leave_no_thread_descriptor_rental_or_heap_behind_and_account_for_every_message()
    {
        var serverPool = new SidecarBufferPool();
        using var server = new LoopbackEchoServer(WaitStrategy.Blocking, serverPool);
        // Path /close: the server echoes the first message (the subscription) and closes with 1001, so every
        // connection is lost at once and replaced, with no backoff to wait out.
        Uri uri = server.UriFor(EchoServerFault.CloseAfterEcho);
        Run(uri, 30, new SidecarBufferPool()); // warm up JIT, pools and the server
        Assert.True(SpinWait.SpinUntil(() => server.LiveSessions == 0, TimeSpan.FromSeconds(10)));
        ProcessCensus before = ProcessCensus.Take();

        var clientPool = new SidecarBufferPool();
        (ShutdownReport report, long accepted, int subscriptionsEchoed) = Run(uri, 1000, clientPool);

        Assert.True(SpinWait.SpinUntil(() => server.LiveSessions == 0, TimeSpan.FromSeconds(10)), $"server sessions still open: {server.LiveSessions}");
        ProcessCensus after = ProcessCensus.Take();
        Assert.Equal(accepted, report.MessagesSent + report.MessagesInDoubt + report.MessagesNotSent);
        Assert.InRange(subscriptionsEchoed, 1000, 1001);
        Assert.True(report.ThreadJoined);
        Assert.Equal(0, clientPool.Outstanding);
        Assert.Equal(before.LiveLoops, after.LiveLoops);
        Assert.Equal(before.LiveConnections, after.LiveConnections);
        Assert.Equal(before.SidecarThreads, after.SidecarThreads);
        Assert.Equal(before.OpenFileDescriptors, after.OpenFileDescriptors);
        Assert.InRange(after.LiveHeapBytes - before.LiveHeapBytes, long.MinValue, 256 * 1024);
    }

    /// <summary>Runs until <paramref name="reconnects"/> losses were noticed, sending one message after each; returns the report.</summary>
    private static (ShutdownReport Report, long Accepted, int SubscriptionsEchoed) Run(Uri uri, int reconnects, SidecarBufferPool pool)
    {
        var options = new SidecarOptions
        {
            BufferPool = pool,
            WaitStrategy = WaitStrategy.Blocking,
            Reconnect = new ReconnectPolicy
            {
                InitialDelay = TimeSpan.Zero,
                MaxDelay = TimeSpan.Zero,
                OnConnected = sender => sender.Send("sub"u8, MessageType.Text),
            },
        };
        var ws = SidecarWebSocket.Connect(uri, options);
        int notices = 0, subscriptions = 0;
        long accepted = 0;
        while (notices < reconnects)
        {
            using ReceivedMessage message = ws.Receive(TimeSpan.FromSeconds(10));
            if (message.Reconnect is { } notice)
            {
                Assert.Equal(++notices, notice.Reconnection);
                ws.Send("after a loss"u8, MessageType.Text); // sent, in doubt or not sent: the report says which
                accepted++;
            }
            else if (message.GetText() == "sub")
            {
                subscriptions++;
            }
        }

        return (ws.Exit(), accepted, subscriptions);
    }
}
