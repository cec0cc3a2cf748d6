using FastSidecar.Buffers;
using FastSidecar.Testing;

namespace FastSidecar.Tests.Facade;

/// <summary>Connections opened and closed one after another reuse the send, receive and run-queue rings.</summary>
[Collection(ResourceCountingGroup.Name)]
public sealed class RingRecyclingTests
{
    [Fact]
    public void Sequential_connect_exit_cycles_do_not_allocate_new_rings()
    {
        var pool = new SidecarBufferPool();
        using var server = new LoopbackEchoServer(WaitStrategy.Blocking, new SidecarBufferPool());
        var options = new SidecarOptions { BufferPool = pool, WaitStrategy = WaitStrategy.Blocking };
        for (int i = 0; i < 5; i++)
        {
            Cycle(server, options);
        }

        const int Cycles = 20;
        long before = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < Cycles; i++)
        {
            Cycle(server, options);
        }

        long perCycle = (GC.GetTotalAllocatedBytes(precise: true) - before) / Cycles;
        // The three rings alone are over 300 KB at the default 4,096 slots; what is left (thread, socket, pipes,
        // handshake, and the server's side of the connection) is far below 96 KB.
        Assert.InRange(perCycle, 0, 96 * 1024);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Sequential_cycles_on_a_shared_loop_do_not_allocate_new_rings()
    {
        var pool = new SidecarBufferPool();
        using var server = new LoopbackEchoServer(WaitStrategy.Blocking, new SidecarBufferPool());
        using var loop = new SidecarLoop(new SidecarLoopOptions { Name = "ring recycling shared" });
        var options = new SidecarOptions { BufferPool = pool, Loop = loop };
        for (int i = 0; i < 5; i++)
        {
            SharedCycle(server, options);
        }

        const int Cycles = 20;
        long before = GC.GetTotalAllocatedBytes(precise: true);
        for (int i = 0; i < Cycles; i++)
        {
            SharedCycle(server, options);
        }

        long perCycle = (GC.GetTotalAllocatedBytes(precise: true) - before) / Cycles;
        // No thread and no run queue here: the send and receive rings alone are over 200 KB at the default 4,096
        // slots, so a cycle that allocated them again could not stay under 64 KB.
        Assert.InRange(perCycle, 0, 64 * 1024);
        Assert.Equal(0, pool.Outstanding);
    }

    private static void SharedCycle(LoopbackEchoServer server, SidecarOptions options)
    {
        using SidecarWebSocket ws = SidecarWebSocket.Connect(server.Uri, options);
        ws.Send("ping"u8, MessageType.Text);
        ws.Receive(TimeSpan.FromSeconds(5)).Dispose();
        Assert.Equal(ShutdownOutcome.Skipped, ws.Exit().Steps[3].Outcome); // shared: nothing to join
    }

    private static void Cycle(LoopbackEchoServer server, SidecarOptions options)
    {
        using SidecarWebSocket ws = SidecarWebSocket.Connect(server.Uri, options);
        ws.Send("ping"u8, MessageType.Text);
        ws.Receive(TimeSpan.FromSeconds(5)).Dispose();
        Assert.True(ws.Exit().ThreadJoined);
    }
}
