using FastSidecar.Buffers;
using FastSidecar.Connection;
using FastSidecar.Tests.Peers;

namespace FastSidecar.Tests.Facade;

/// <summary>
/// A loop that only its connection posts to takes a run queue sized for that (posts are coalesced), not the shared
/// loop's default: the difference was most of an idle connection's heap. Posts past the small ring still all run, in order.
/// </summary>
public sealed class OwnedLoopRunQueueTests(EchoServerFixture fixture) : IClassFixture<EchoServerFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public void An_owned_loop_has_a_small_run_queue_and_posts_beyond_it_run_in_order_with_the_connection_still_working()
    {
        var pool = new SidecarBufferPool(trackRentals: true);
        var ws = SidecarWebSocket.Connect(fixture.Server.Uri, new SidecarOptions { BufferPool = pool });
        try
        {
            Assert.Equal(ClientConnection.OwnedLoopRunQueueCapacity, ws.Loop.RunQueueCapacity);
            Assert.True(new SidecarLoopOptions().RunQueueCapacity > ws.Loop.RunQueueCapacity);

            // Hold the loop so the posts pile up past the ring and into the overflow.
            using var holding = new ManualResetEventSlim(false);
            using var release = new ManualResetEventSlim(false);
            ws.Loop.Post(() =>
            {
                holding.Set();
                release.Wait(Wait);
            });
            Assert.True(holding.Wait(Wait));
            const int Posts = ClientConnection.OwnedLoopRunQueueCapacity * 8;
            var ran = new List<int>(Posts); // touched by the loop thread only until `done` is set
            using var done = new ManualResetEventSlim(false);
            for (int i = 0; i < Posts; i++)
            {
                int n = i;
                ws.Loop.Post(() => ran.Add(n));
            }

            ws.Send("after the posts"u8, MessageType.Text);
            ws.Loop.Post(done.Set);
            release.Set();
            Assert.True(done.Wait(Wait), "the posts past the ring did not all run");
            Assert.Equal(Enumerable.Range(0, Posts), ran);
            using ReceivedMessage echo = ws.Receive(Wait);
            Assert.Equal("after the posts", echo.GetText());
        }
        finally
        {
            ws.Exit();
        }

        Assert.Equal(0, pool.Outstanding);
    }
}
