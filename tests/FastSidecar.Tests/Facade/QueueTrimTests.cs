using FastSidecar.Buffers;
using FastSidecar.Connection;
using FastSidecar.Queues;
using FastSidecar.Tests.Peers;

namespace FastSidecar.Tests.Facade;

/// <summary>
/// A connection's receive queue grows for a backlog and, once the application has taken it and traffic stays quiet,
/// the loop's trim timer brings it back to its first ring: an idle connection holds the small ring again.
/// </summary>
public sealed class QueueTrimTests(EchoServerFixture fixture) : IClassFixture<EchoServerFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [Fact]
    public void A_receive_queue_grown_by_a_backlog_is_back_to_its_first_ring_after_a_quiet_period()
    {
        const int Messages = 3000;
        var pool = new SidecarBufferPool(trackRentals: true);
        var ws = SidecarWebSocket.Connect(fixture.Server.FloodUri(64, Messages), new SidecarOptions
        {
            BufferPool = pool, ReceiveQueueCapacity = 4096, CloseTimeout = TimeSpan.FromSeconds(2),
        });
        BoundedSpmcQueue<ReceivedMessage> queue = ws.Connection.ReceiveQueue;
        try
        {
            Assert.True(SpinWait.SpinUntil(() => queue.Count == Messages, Wait), $"{queue.Count} of {Messages} queued");
            Assert.True(queue.CurrentRingSize > BoundedMpscQueue<ReceivedMessage>.InitialSlots, "the backlog did not grow the queue");
            for (int i = 0; i < Messages; i++)
            {
                ws.Receive(Wait).Dispose();
            }

            // The period that held the backlog is not a quiet one; the next one is, so two to three periods from now.
            TimeSpan limit = ClientConnection.QueueTrimPeriod * 3 + Wait;
            Assert.True(SpinWait.SpinUntil(() => queue.CurrentRingSize == BoundedMpscQueue<ReceivedMessage>.InitialSlots, limit),
                $"ring still {queue.CurrentRingSize} slots");
            Assert.Equal(0, queue.Count);
        }
        finally
        {
            Assert.True(ws.Exit().ThreadJoined);
        }

        Assert.Equal(0, pool.Outstanding);
    }
}
