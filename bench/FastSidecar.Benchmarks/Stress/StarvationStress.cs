using FastSidecar.Benchmarks.Contenders;
using HdrHistogram;

namespace FastSidecar.Benchmarks.Stress;

/// <summary>
/// (d) Round trips while every thread-pool thread is blocked, against the same contender unstarved, in alternating
/// rounds. The pool is capped at the processor count and filled with work items that block on a gate; the cap and the
/// minimum are restored afterwards. <c>ClientWebSocket</c> needs the pool to complete its receives, so its starved
/// attempt runs on a thread of its own under a deadline and is reported as stalled when it misses it.
/// </summary>
internal static class StarvationStress
{
    private const int Rounds = 4;
    private static readonly TimeSpan s_clientDeadline = TimeSpan.FromSeconds(3);

    public sealed record Result(
        int PoolThreadsBlocked,
        LatencySummary SidecarUnstarved,
        LatencySummary SidecarStarved,
        LatencySummary ClientUnstarved,
        LatencySummary ClientStarved,
        int ClientStarvedAttempts,
        int ClientStarvedStalls,
        string ClientStarvedNote,
        string Load);

    public static (Result Result, Dictionary<string, LongHistogram> Histograms) Run(StressSettings settings, Uri uri)
    {
        var sidecarUnstarved = LatencySummary.NewHistogram();
        var sidecarStarved = LatencySummary.NewHistogram();
        var clientUnstarved = LatencySummary.NewHistogram();
        var clientStarved = LatencySummary.NewHistogram();
        int perRound = Math.Max(1, settings.StarvedRoundTrips / Rounds);
        byte[] payload = new byte[64];
        int stalls = 0;
        int blocked = 0;
        string note = "";
        using Contender sidecar = Contender.Create(ContenderKind.SidecarSpinThenPark, uri);
        using Contender client = Contender.Create(ContenderKind.ClientWebSocketSync, uri);
        sidecar.Prepare(payload);
        client.Prepare(payload);
        sidecar.MeasureBlock(1_000, static _ => { });
        client.MeasureBlock(1_000, static _ => { });
        for (int round = 0; round < Rounds; round++)
        {
            sidecar.MeasureBlock(perRound, sidecarUnstarved.RecordValue);
            client.MeasureBlock(perRound, clientUnstarved.RecordValue);
            using (var starvation = PoolStarvation.Begin())
            {
                blocked = starvation.Blocked;
                sidecar.MeasureBlock(perRound, sidecarStarved.RecordValue);
                int completed = 0;
                var attempt = new Thread(() => client.MeasureBlock(perRound, ticks =>
                {
                    clientStarved.RecordValue(ticks);
                    Interlocked.Increment(ref completed);
                }))
                { IsBackground = true, Name = "starved ClientWebSocket" };
                attempt.Start();
                if (!attempt.Join(s_clientDeadline))
                {
                    stalls++;
                    note = $"stalled: {Volatile.Read(ref completed)} of {perRound} round trips completed in {s_clientDeadline.TotalSeconds:0} s with the pool blocked; it resumed once the pool was released";
                    starvation.Dispose();
                    attempt.Join();
                }
            }

            Console.WriteLine($"  starvation: round {round + 1}/{Rounds} done (load {MachineLoad.Now()})");
        }

        var histograms = new Dictionary<string, LongHistogram>
        {
            ["Sidecar SpinThenPark, pool free"] = sidecarUnstarved,
            ["Sidecar SpinThenPark, pool starved"] = sidecarStarved,
            ["ClientWebSocket sync, pool free"] = clientUnstarved,
        };
        return (new Result(blocked, LatencySummary.From(sidecarUnstarved), LatencySummary.From(sidecarStarved),
            LatencySummary.From(clientUnstarved), LatencySummary.From(clientStarved), Rounds, stalls,
            stalls == 0 ? "completed every starved round within the deadline" : note, MachineLoad.Now()), histograms);
    }

    /// <summary>Caps the thread pool and blocks every one of its threads until disposed; restores the limits then.</summary>
    private sealed class PoolStarvation : IDisposable
    {
        private readonly ManualResetEventSlim _gate = new(false);
        private readonly CountdownEvent _running;
        private readonly int _minWorkers;
        private readonly int _minIo;
        private readonly int _maxWorkers;
        private readonly int _maxIo;
        private bool _disposed;

        private PoolStarvation()
        {
            ThreadPool.GetMinThreads(out _minWorkers, out _minIo);
            ThreadPool.GetMaxThreads(out _maxWorkers, out _maxIo);
            int cap = Environment.ProcessorCount;
            ThreadPool.SetMinThreads(cap, _minIo);
            if (!ThreadPool.SetMaxThreads(cap, _maxIo))
            {
                throw new InvalidOperationException("Could not cap the thread pool.");
            }

            // As many blockers as the pool may have threads: the ones that exist already plus any it could still inject.
            Blocked = Math.Max(cap, ThreadPool.ThreadCount);
            _running = new CountdownEvent(Blocked);
            for (int i = 0; i < Blocked; i++)
            {
                ThreadPool.UnsafeQueueUserWorkItem(static state =>
                {
                    var self = (PoolStarvation)state!;
                    self._running.Signal();
                    self._gate.Wait();
                }, this);
            }

            // Wait until the pool's threads are all inside a blocker (those beyond the cap stay queued behind them).
            _running.Wait(TimeSpan.FromMilliseconds(cap * 50 + 500));
        }

        public int Blocked { get; }

        public static PoolStarvation Begin() => new();

        public void Dispose()
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _gate.Set();
            ThreadPool.SetMaxThreads(_maxWorkers, _maxIo);
            ThreadPool.SetMinThreads(_minWorkers, _minIo);
        }
    }
}
