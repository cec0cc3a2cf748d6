using FastSidecar.Testing;

namespace FastSidecar.Tests.Facade;

/// <summary>
/// Text sends in steady state allocate nothing on the sending thread. Run alone: every pool's arrays come from the
/// process-wide size classes, and a test beside this one that holds thousands of small buffers out empties the class a
/// text send rents from, so the send would allocate for a reason that is not its own.
/// </summary>
[Collection(ResourceCountingGroup.Name)]
public sealed class TextSendAllocationTests(EchoServerFixture fixture) : IClassFixture<EchoServerFixture>
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);

    [Fact]
    public void Sending_text_allocates_nothing_in_steady_state()
    {
        using var ws = SidecarWebSocket.Connect(fixture.Server.Uri, new SidecarOptions { BufferPool = new SidecarBufferPool(), CloseTimeout = TimeSpan.FromSeconds(2) });
        const string Text = "{\"price\":101.25,\"qty\":3}";
        for (int i = 0; i < 200; i++)
        {
            ws.Send(Text);
            ws.Send(Text.AsSpan());
            ws.Receive(Generous).Dispose();
            ws.Receive(Generous).Dispose();
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1_000; i++)
        {
            ws.Send(Text.AsSpan());
            ws.Receive(Generous).Dispose();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
