using FastSidecar.Buffers;
using FastSidecar.Testing;

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
        using var rotation = new FaultRotation(server, clientPool);

        // Warm up JIT, pools and the server so the baseline holds only steady state.
        for (int i = 0; i < 30; i++)
        {
            rotation.RunCycle(i);
        }

        Assert.True(SpinWait.SpinUntil(() => server.LiveSessions == 0, TimeSpan.FromSeconds(10)));
        ProcessCensus before = ProcessCensus.Take();

        var outcomes = new Dictionary<string, int>();
        for (int i = 0; i < Cycles; i++)
        {
            string outcome = rotation.RunCycle(i).Kind;
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }

        Assert.True(SpinWait.SpinUntil(() => server.LiveSessions == 0, TimeSpan.FromSeconds(10)), $"server sessions still open: {server.LiveSessions}");
        ProcessCensus after = ProcessCensus.Take();

        Assert.Equal(0, clientPool.Outstanding);
        Assert.Equal(before.LiveLoops, after.LiveLoops);
        Assert.Equal(before.LiveConnections, after.LiveConnections);
        Assert.Equal(before.SidecarThreads, after.SidecarThreads);
        Assert.Equal(before.OpenFileDescriptors, after.OpenFileDescriptors);
        Assert.InRange(after.LiveHeapBytes - before.LiveHeapBytes, long.MinValue, 256 * 1024);
        // Every kind of cycle actually happened.
        Assert.All(new[] { "echo", "reset", "silent", "midframe", "refused", "stalled", "peer-close" }, kind => Assert.True(outcomes.GetValueOrDefault(kind) > 0, kind));
    }
}
