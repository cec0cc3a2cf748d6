using System.Diagnostics;
using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;
using FastSidecar.Benchmarks.Contenders;

namespace FastSidecar.Benchmarks.RoundTrip;

/// <summary>
/// The 64 B FastSidecar round trip with and without a listener on the <c>FastSidecar</c> meter and activity source:
/// the price of the per-message counters when somebody collects them, and the proof that nobody listening costs nothing.
/// </summary>
/// <remarks>
/// The listener enables every FastSidecar instrument and does the least a real exporter does per measurement (adds it
/// up), so the difference between the two rows is the instruments' own recording path.
/// </remarks>
[MemoryDiagnoser]
public class ListenerCostBenchmarks
{
    private Contender? _contender;
    private MeterListener? _meterListener;
    private ActivityListener? _activityListener;
    private long _sum;

    [Params(false, true)]
    public bool ListenerAttached { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        if (ListenerAttached)
        {
            _meterListener = new MeterListener
            {
                InstrumentPublished = (instrument, listener) =>
                {
                    if (instrument.Meter.Name == "FastSidecar")
                    {
                        listener.EnableMeasurementEvents(instrument);
                    }
                },
            };
            _meterListener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _sum, value));
            _meterListener.SetMeasurementEventCallback<int>((_, value, _, _) => Interlocked.Add(ref _sum, value));
            _meterListener.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref _sum));
            _meterListener.Start();
            _activityListener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == "FastSidecar",
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            };
            ActivitySource.AddActivityListener(_activityListener);
        }

        _contender = Contender.Create(ContenderKind.SidecarSpinThenPark, SharedEchoServer.Instance.Uri);
        byte[] payload = new byte[64];
        Random.Shared.NextBytes(payload);
        _contender.Prepare(payload);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _contender?.Dispose();
        _meterListener?.Dispose();
        _activityListener?.Dispose();
    }

    [Benchmark]
    public void Sidecar_RoundTrip_64B() => _contender!.RoundTrip();
}
