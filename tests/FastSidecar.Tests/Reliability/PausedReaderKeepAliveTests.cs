using FastSidecar.Buffers;
using FastSidecar.Tests.Facade;

namespace FastSidecar.Tests.Reliability;

/// <summary>A reader paused by the application's full queue is not a dead peer.</summary>
public sealed class PausedReaderKeepAliveTests(EchoServerFixture fixture) : IClassFixture<EchoServerFixture>
{
    [Fact]
    public void A_connection_whose_application_stops_receiving_survives_many_keep_alive_periods_and_delivers_everything()
    {
        // Issue: with reading paused, the keep-alive could not hear the pong and failed the connection with 1006
        // (about 70 s after the application stopped consuming, with the defaults), losing everything in flight.
        const int Messages = 5_000;
        var pool = new SidecarBufferPool();
        var ws = SidecarWebSocket.Connect(fixture.Server.FloodUri(16, Messages), new SidecarOptions
        {
            BufferPool = pool,
            ReceiveQueueCapacity = 64,
            KeepAliveInterval = TimeSpan.FromMilliseconds(100),
            KeepAliveTimeout = TimeSpan.FromMilliseconds(100),
        });

        Assert.True(SpinWait.SpinUntil(() => ws.PendingReceiveCount == 64, TimeSpan.FromSeconds(10)), "the receive queue never filled");
        Thread.Sleep(TimeSpan.FromSeconds(2)); // ten keep-alive periods with reading paused

        for (int i = 0; i < Messages; i++)
        {
            using ReceivedMessage message = ws.Receive(TimeSpan.FromSeconds(10));
            Assert.Equal(i, BitConverter.ToInt64(message.Span)); // the flood's sequence number
        }

        Assert.Equal(SidecarWebSocketState.Open, ws.State);
        ws.Exit();
        Assert.Equal(0, pool.Outstanding);
    }
}
