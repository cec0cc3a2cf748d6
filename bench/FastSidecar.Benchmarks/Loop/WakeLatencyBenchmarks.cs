using BenchmarkDotNet.Attributes;

namespace FastSidecar.Benchmarks.LoopBenchmarks;

/// <summary>
/// Wake-up latency: hand one work item to an idle consumer thread and spin until it has run, per loop wait strategy,
/// against the two usual alternatives (the thread pool, and a dedicated thread parked on a <see cref="SemaphoreSlim"/>).
/// </summary>
/// <remarks>
/// The caller spins on a flag so that only the consumer's wake-up and dispatch are measured. Each mechanism gets its
/// own setup: a busy-spinning loop left running would take one of the machine's cores from the other benchmarks.
/// Back-to-back posts often reach even a <see cref="WaitStrategy.Blocking"/> loop before it has parked (its final
/// re-check of the run queue catches them); <see cref="Loop_Blocking_PostToParked"/> measures the parked case.
/// <see cref="WaitStrategy.SpinThenPark"/> with back-to-back posts is usually still spinning, which is the case it is
/// designed for.
/// </remarks>
[MemoryDiagnoser]
public class WakeLatencyBenchmarks
{
    private SidecarLoop? _loop;
    private Thread? _dedicated;
    private SemaphoreSlim? _semaphore;
    private volatile bool _stopDedicated;
    private int _flag;
    private Action _setFlag = null!;
    private Action<object?> _setFlagFromPool = null!;

    [GlobalSetup(Target = nameof(Loop_Blocking))]
    public void SetupBlocking() => SetupLoop(WaitStrategy.Blocking);

    [GlobalSetup(Target = nameof(Loop_Blocking_PostToParked))]
    public void SetupBlockingParked() => SetupLoop(WaitStrategy.Blocking);

    [GlobalSetup(Target = nameof(Loop_SpinThenPark))]
    public void SetupSpinThenPark() => SetupLoop(WaitStrategy.SpinThenPark);

    [GlobalSetup(Target = nameof(Loop_BusySpin))]
    public void SetupBusySpin() => SetupLoop(WaitStrategy.BusySpin);

    [GlobalSetup(Target = nameof(ThreadPool_UnsafeQueueUserWorkItem))]
    public void SetupThreadPool()
    {
        SetupFlag();
        _setFlagFromPool = _ => Volatile.Write(ref _flag, 1);
    }

    [GlobalSetup(Target = nameof(SemaphoreSlim_DedicatedThread))]
    public void SetupDedicated()
    {
        SetupFlag();
        _semaphore = new SemaphoreSlim(0);
        _stopDedicated = false;
        _dedicated = new Thread(() =>
        {
            while (true)
            {
                _semaphore.Wait();
                if (_stopDedicated)
                {
                    return;
                }

                Volatile.Write(ref _flag, 1);
            }
        })
        { IsBackground = true, Name = "semaphore consumer" };
        _dedicated.Start();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _loop?.Stop(TimeSpan.FromSeconds(5));
        _loop = null;
        if (_dedicated is not null)
        {
            _stopDedicated = true;
            _semaphore!.Release();
            _dedicated.Join();
            _dedicated = null;
            _semaphore.Dispose();
            _semaphore = null;
        }
    }

    [Benchmark]
    public void Loop_Blocking() => PostAndSpin();

    /// <summary>
    /// Waits until the loop has announced that it is parking before posting, so every post pays the eventfd write and
    /// the thread wake-up. The wait for the announcement is included (it follows the previous item by well under a
    /// microsecond), so this is an upper bound on the parked wake-up latency.
    /// </summary>
    [Benchmark]
    public void Loop_Blocking_PostToParked()
    {
        SidecarLoop loop = _loop!;
        while (!loop.IsParked)
        {
            Thread.SpinWait(1);
        }

        PostAndSpin();
    }

    [Benchmark]
    public void Loop_SpinThenPark() => PostAndSpin();

    [Benchmark]
    public void Loop_BusySpin() => PostAndSpin();

    [Benchmark(Baseline = true)]
    public void ThreadPool_UnsafeQueueUserWorkItem()
    {
        Volatile.Write(ref _flag, 0);
        ThreadPool.UnsafeQueueUserWorkItem(_setFlagFromPool, null, preferLocal: false);
        SpinUntilFlag();
    }

    [Benchmark]
    public void SemaphoreSlim_DedicatedThread()
    {
        Volatile.Write(ref _flag, 0);
        _semaphore!.Release();
        SpinUntilFlag();
    }

    private void SetupLoop(WaitStrategy strategy)
    {
        SetupFlag();
        _loop = new SidecarLoop(new SidecarLoopOptions { WaitStrategy = strategy, Name = "bench loop " + strategy });
    }

    private void SetupFlag() => _setFlag = () => Volatile.Write(ref _flag, 1);

    private void PostAndSpin()
    {
        Volatile.Write(ref _flag, 0);
        _loop!.Post(_setFlag);
        SpinUntilFlag();
    }

    private void SpinUntilFlag()
    {
        while (Volatile.Read(ref _flag) == 0)
        {
            Thread.SpinWait(1);
        }
    }
}
