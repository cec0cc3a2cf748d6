using BenchmarkDotNet.Attributes;
using FastSidecar.Benchmarks.Contenders;
using FastSidecar.Benchmarks.Peers;

namespace FastSidecar.Benchmarks.RoundTrip;

/// <summary>
/// One echo round trip per contender, 64 B and 4 KiB, against each of the three peers: the project's own loop server,
/// a plain blocking thread-per-connection server and Node's <c>ws</c> in another process. The baseline is the raw socket
/// busy-polling for the echo: the least a round trip can cost on this machine.
/// </summary>
/// <remarks>
/// Each contender connects in its own global setup and disconnects in the cleanup, so a busy-spinning loop never runs
/// while another contender is measured. The async <c>ClientWebSocket</c> runs 16 round trips per invocation inside one
/// <c>async</c> method, so its continuations really hop instead of being blocked on by the harness.
/// </remarks>
[MemoryDiagnoser]
public class RoundTripBenchmarks
{
    private const int AsyncBatch = 16;
    private Contender? _contender;

    // Started once per benchmark process; the Node peer exits with this process (its standard input closes).
    private static readonly Lazy<EchoPeers> s_peers = new(() => new EchoPeers());

    [Params(64, 4096)]
    public int Size { get; set; }

    [ParamsAllValues]
    public PeerKind Peer { get; set; }

    [GlobalSetup(Target = nameof(RawBusyPoll))]
    public void SetupRawBusyPoll() => Setup(ContenderKind.RawBusyPoll);

    [GlobalSetup(Target = nameof(RawBlocking))]
    public void SetupRawBlocking() => Setup(ContenderKind.RawBlocking);

    [GlobalSetup(Target = nameof(Sidecar_SpinThenPark))]
    public void SetupSpinThenPark() => Setup(ContenderKind.SidecarSpinThenPark);

    [GlobalSetup(Target = nameof(Sidecar_BusySpin))]
    public void SetupBusySpin() => Setup(ContenderKind.SidecarBusySpin);

    [GlobalSetup(Target = nameof(Sidecar_Blocking))]
    public void SetupBlocking() => Setup(ContenderKind.SidecarBlocking);

    [GlobalSetup(Target = nameof(ClientWebSocket_Sync))]
    public void SetupClientSync() => Setup(ContenderKind.ClientWebSocketSync);

    [GlobalSetup(Target = nameof(ClientWebSocket_Async))]
    public void SetupClientAsync() => Setup(ContenderKind.ClientWebSocketAsync);

    [GlobalCleanup]
    public void Cleanup()
    {
        _contender?.Dispose();
        _contender = null;
    }

    [Benchmark(Baseline = true)]
    public void RawBusyPoll() => _contender!.RoundTrip();

    [Benchmark]
    public void RawBlocking() => _contender!.RoundTrip();

    [Benchmark]
    public void Sidecar_SpinThenPark() => _contender!.RoundTrip();

    [Benchmark]
    public void Sidecar_BusySpin() => _contender!.RoundTrip();

    [Benchmark]
    public void Sidecar_Blocking() => _contender!.RoundTrip();

    [Benchmark]
    public void ClientWebSocket_Sync() => _contender!.RoundTrip();

    [Benchmark(OperationsPerInvoke = AsyncBatch)]
    public async Task ClientWebSocket_Async()
    {
        var contender = (ClientWebSocketContender)_contender!;
        for (int i = 0; i < AsyncBatch; i++)
        {
            await contender.RoundTripAsync();
        }
    }

    private void Setup(ContenderKind kind)
    {
        _contender = Contender.Create(kind, s_peers.Value.UriOf(Peer));
        byte[] payload = new byte[Size];
        Random.Shared.NextBytes(payload);
        _contender.Prepare(payload);
    }
}
