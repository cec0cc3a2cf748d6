using FastSidecar.Buffers;
using FastSidecar.Tests.Facade;

namespace FastSidecar.Tests.Reliability;

/// <summary>
/// One connection flooding a shared loop does not starve the others: the loop bounds the work it does for one
/// connection per turn (bytes read per readiness event, bytes framed per send drain), so quiet connections on the
/// same loop still complete their round trips while the flood goes on. Latency is the scale benchmark's business;
/// this checks progress.
/// </summary>
public sealed class SharedLoopFairnessTests(EchoServerFixture fixture) : IClassFixture<EchoServerFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public void Quiet_connections_on_a_shared_loop_keep_completing_round_trips_while_one_connection_floods_it()
    {
        const int QuietConnections = 8;
        const int RoundTripsEach = 50;
        var pool = new SidecarBufferPool();
        using var loop = new SidecarLoop(new SidecarLoopOptions { Name = "fairness" });
        var options = new SidecarOptions { Loop = loop, BufferPool = pool };
        SidecarWebSocket flooder = SidecarWebSocket.Connect(fixture.Server.Uri, options);
        var quiet = new SidecarWebSocket[QuietConnections];
        for (int i = 0; i < quiet.Length; i++)
        {
            quiet[i] = SidecarWebSocket.Connect(fixture.Server.Uri, options);
        }

        long flooded = 0;
        bool stop = false;
        Exception? floodFault = null;
        var flood = new Thread(() =>
        {
            try
            {
                byte[] payload = new byte[64];
                while (!Volatile.Read(ref stop))
                {
                    // Keep the flooder's queues full: send while there is room, take whatever echoes are back.
                    while (flooder.TrySend(payload, MessageType.Binary))
                    {
                    }

                    while (flooder.TryReceive(out ReceivedMessage echo))
                    {
                        echo.Dispose();
                        Interlocked.Increment(ref flooded);
                    }
                }
            }
            catch (Exception e) when (e is SidecarWebSocketException or InvalidOperationException)
            {
                floodFault = e;
            }
        }) { IsBackground = true, Name = "flooder" };
        flood.Start();
        Assert.True(SpinWait.SpinUntil(() => Interlocked.Read(ref flooded) > 10_000, Wait), "the flood never got going");

        long floodedBefore = Interlocked.Read(ref flooded);
        byte[] message = new byte[32];
        for (int round = 0; round < RoundTripsEach; round++)
        {
            for (int i = 0; i < quiet.Length; i++)
            {
                message[0] = (byte)round;
                message[1] = (byte)i;
                quiet[i].Send(message, MessageType.Binary);
                using ReceivedMessage echo = quiet[i].Receive(Wait); // throws TimeoutException if this connection starves
                Assert.Equal(message, echo.Span.ToArray());
            }
        }

        // The flood really ran alongside the quiet round trips: it was served too, not stalled by them.
        Assert.True(Interlocked.Read(ref flooded) > floodedBefore, "the flood stalled while the quiet connections ran");
        Volatile.Write(ref stop, true);
        Assert.True(flood.Join(Wait));
        Assert.Null(floodFault);
        flooder.Exit();
        foreach (SidecarWebSocket ws in quiet)
        {
            ws.Exit();
        }

        loop.Stop(Wait);
        Assert.Equal(0, pool.Outstanding);
    }
}
