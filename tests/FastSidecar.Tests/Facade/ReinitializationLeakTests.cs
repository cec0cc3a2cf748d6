using FastSidecar.Buffers;
using FastSidecar.Server;

namespace FastSidecar.Tests.Facade;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ResourceCountingGroup
{
    public const string Name = "resource counting";
}

[Collection(ResourceCountingGroup.Name)]
public sealed class ReinitializationLeakTests
{
    private const int Cycles = 300;

    [Fact]
    public void Hundreds_of_connect_exchange_exit_cycles_with_faults_leave_no_thread_descriptor_rental_or_heap_behind()
    {
        var serverPool = new SidecarBufferPool();
        var clientPool = new SidecarBufferPool();
        using var server = new LoopbackEchoServer(WaitStrategy.Blocking, serverPool);
        Uri refused = RefusedUri();

        // Warm up JIT, pools and the server so the baseline holds only steady state.
        for (int i = 0; i < 30; i++)
        {
            RunCycle(server, refused, clientPool, i);
        }

        Assert.True(ProcessResources.Settle(() => server.LiveSessions == 0, TimeSpan.FromSeconds(10)));
        ProcessResources before = ProcessResources.Measure();

        var outcomes = new Dictionary<string, int>();
        for (int i = 0; i < Cycles; i++)
        {
            string outcome = RunCycle(server, refused, clientPool, i);
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }

        Assert.True(ProcessResources.Settle(() => server.LiveSessions == 0, TimeSpan.FromSeconds(10)), $"server sessions still open: {server.LiveSessions}");
        ProcessResources after = ProcessResources.Measure();

        Assert.Equal(0, clientPool.Outstanding);
        Assert.Equal(before.LiveLoops, after.LiveLoops);
        Assert.Equal(before.LiveConnections, after.LiveConnections);
        Assert.Equal(before.SidecarThreads, after.SidecarThreads);
        Assert.Equal(before.OpenFileDescriptors, after.OpenFileDescriptors);
        Assert.InRange(after.LiveHeapBytes - before.LiveHeapBytes, long.MinValue, 256 * 1024);
        // Every kind of cycle actually happened.
        Assert.All(new[] { "echo", "reset", "silent", "midframe", "refused", "stalled", "peer-close" }, kind => Assert.True(outcomes.GetValueOrDefault(kind) > 0, kind));
    }

    private static string RunCycle(LoopbackEchoServer server, Uri refused, SidecarBufferPool pool, int cycle)
    {
        (Uri uri, string kind, TimeSpan connectTimeout) = new FaultRotation(server, refused).Cycle(cycle);
        var options = new SidecarOptions
        {
            BufferPool = pool,
            CloseTimeout = TimeSpan.FromMilliseconds(50),
            ConnectTimeout = connectTimeout,
            WaitStrategy = WaitStrategy.Blocking,
        };

        SidecarWebSocket ws;
        try
        {
            ws = SidecarWebSocket.Connect(uri, options);
        }
        catch (SidecarWebSocketException)
        {
            return kind;
        }

        using (ws)
        {
            try
            {
                ws.Send("ping"u8, MessageType.Text);
                ws.Receive(TimeSpan.FromSeconds(5)).Dispose();
            }
            catch (SidecarWebSocketException)
            {
            }

            ws.Exit();
        }

        return kind;
    }

    private static Uri RefusedUri()
    {
        using var probe = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        probe.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        return new Uri($"ws://127.0.0.1:{((System.Net.IPEndPoint)probe.LocalEndPoint!).Port}/");
    }
}
