using FastSidecar.Buffers;

namespace FastSidecar.Tests.Facade;

public sealed class BackpressureTests(EchoServerFixture fixture) : IClassFixture<EchoServerFixture>
{
    [Theory]
    [InlineData(2, WaitStrategy.SpinThenPark)]
    [InlineData(4, WaitStrategy.Blocking)]
    [InlineData(64, WaitStrategy.SpinThenPark)]
    public void A_full_receive_queue_pauses_reading_and_every_message_still_arrives_in_order(int receiveCapacity, WaitStrategy strategy)
    {
        const int Messages = 50_000;
        var pool = new SidecarBufferPool();
        using var ws = SidecarWebSocket.Connect(fixture.Server.Uri, new SidecarOptions
        {
            BufferPool = pool, ReceiveQueueCapacity = receiveCapacity, WaitStrategy = strategy,
        });
        var sender = new Thread(() =>
        {
            Span<byte> payload = stackalloc byte[64];
            for (int i = 0; i < Messages; i++)
            {
                BitConverter.TryWriteBytes(payload, i);
                ws.Send(payload);
            }
        });
        sender.Start();
        for (int i = 0; i < Messages; i++)
        {
            using ReceivedMessage message = ws.Receive(TimeSpan.FromSeconds(10));
            Assert.Equal(i, BitConverter.ToInt32(message.Span));
        }

        Assert.True(sender.Join(TimeSpan.FromSeconds(10)));
        ShutdownReport report = ws.Exit();
        Assert.Equal(Messages, report.MessagesSent);
        Assert.Equal(0, report.MessagesNotConsumed);
        Assert.Equal(0, pool.Outstanding);
    }
}
