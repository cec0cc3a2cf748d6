using System.Buffers;
using BenchmarkDotNet.Attributes;
using FastSidecar.Buffers;
using FastSidecar.Queues;

namespace FastSidecar.Benchmarks.Buffers;

/// <summary>
/// The library's buffer traffic in miniature: the benchmark thread rents, a second thread returns (as the loop
/// returns sent buffers, or the application returns received ones). Each invocation moves <see cref="Arrays"/>
/// arrays through a ring to the returner and waits until all are back, so the allocation column is per array,
/// both threads included (BenchmarkDotNet reads the process-wide allocated bytes).
/// </summary>
[MemoryDiagnoser]
public class CrossThreadPoolBenchmarks
{
    public const int Arrays = 1024;

    private readonly MpscRing<byte[]> _handoff = new(Arrays);
    private Thread _returner = null!;
    private volatile bool _stopping;
    private long _returned;
    private bool _sidecar;
    private SidecarBufferPool _pool = null!;

    [Params(64, 1024, 4096)]
    public int Size { get; set; }

    [GlobalSetup(Target = nameof(SidecarPool))]
    public void SetupSidecar() => Setup(sidecar: true);

    [GlobalSetup(Target = nameof(ArrayPoolShared))]
    public void SetupShared() => Setup(sidecar: false);

    [GlobalCleanup]
    public void Cleanup()
    {
        _stopping = true;
        _returner.Join();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Arrays)]
    public void ArrayPoolShared() => Run();

    [Benchmark(OperationsPerInvoke = Arrays)]
    public void SidecarPool() => Run();

    private void Setup(bool sidecar)
    {
        _sidecar = sidecar;
        _pool = new SidecarBufferPool();
        _stopping = false;
        _returner = new Thread(ReturnLoop) { IsBackground = true, Name = "returner" };
        _returner.Start();
    }

    private void Run()
    {
        long target = Volatile.Read(ref _returned) + Arrays;
        for (int i = 0; i < Arrays; i++)
        {
            byte[] array = _sidecar ? _pool.Rent(Size) : ArrayPool<byte>.Shared.Rent(Size);
            array[0] = 1;
            while (!_handoff.TryEnqueue(array))
            {
                Thread.SpinWait(1);
            }
        }

        SpinWait spinner = default;
        while (Volatile.Read(ref _returned) < target)
        {
            spinner.SpinOnce(sleep1Threshold: -1);
        }
    }

    private void ReturnLoop()
    {
        SpinWait spinner = default;
        while (!_stopping)
        {
            if (_handoff.TryDequeue(out byte[] array))
            {
                if (_sidecar)
                {
                    _pool.Return(array);
                }
                else
                {
                    ArrayPool<byte>.Shared.Return(array);
                }

                Volatile.Write(ref _returned, _returned + 1);
                spinner = default;
            }
            else
            {
                spinner.SpinOnce(sleep1Threshold: -1);
            }
        }
    }
}
