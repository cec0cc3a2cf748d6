using System.Globalization;
using System.Text;

namespace FastSidecar.Benchmarks.Throughput;

/// <summary>
/// What one sidecar flood trial did besides its rate, for explaining run-to-run differences: the loop's parks and
/// wake-up system calls, the receive queue's pauses (reading stopped because the queue was full) and consumer parks,
/// and, per thread of this process, CPU time, context switches and the core it ran on last (Linux procfs).
/// </summary>
internal sealed class FloodTrace
{
    private readonly SidecarWebSocket _sidecar;
    private readonly long _loopParks;
    private readonly long _wakeSignals;
    private readonly long _pauses;
    private readonly long _consumerParks;
    private readonly Dictionary<int, ThreadSample> _threads;

    private FloodTrace(SidecarWebSocket sidecar)
    {
        _sidecar = sidecar;
        _loopParks = sidecar.Connection.Loop.Parks;
        _wakeSignals = sidecar.Connection.Loop.WakeSignals;
        _pauses = sidecar.Connection.Session.ReceivePauses;
        _consumerParks = sidecar.Connection.ReceiveQueue.ConsumerParks;
        _threads = ThreadSample.All();
    }

    public static FloodTrace Start(SidecarWebSocket sidecar) => new(sidecar);

    /// <summary>One line: the counters' changes since <see cref="Start"/> and the three busiest threads.</summary>
    public string Stop(string contender, long messages, double seconds)
    {
        long parks = _sidecar.Connection.Loop.Parks - _loopParks;
        long wakes = _sidecar.Connection.Loop.WakeSignals - _wakeSignals;
        long pauses = _sidecar.Connection.Session.ReceivePauses - _pauses;
        long consumerParks = _sidecar.Connection.ReceiveQueue.ConsumerParks - _consumerParks;
        var line = new StringBuilder();
        line.Append(CultureInfo.InvariantCulture,
            $"trace {contender}: {messages / seconds / 1e6:0.00} M msg/s, loop parks {parks}, wake signals {wakes}, queue-full pauses {pauses}, consumer parks {consumerParks};");
        Dictionary<int, ThreadSample> now = ThreadSample.All();
        var busiest = now
            .Where(t => _threads.ContainsKey(t.Key))
            .Select(t => (Sample: t.Value, Cpu: t.Value.CpuTicks - _threads[t.Key].CpuTicks,
                Voluntary: t.Value.Voluntary - _threads[t.Key].Voluntary, Involuntary: t.Value.Involuntary - _threads[t.Key].Involuntary))
            .OrderByDescending(t => t.Cpu)
            .Take(3);
        double ticksPerSecond = 100; // USER_HZ
        foreach (var (sample, cpu, voluntary, involuntary) in busiest)
        {
            line.Append(CultureInfo.InvariantCulture,
                $" [{sample.Name}: {cpu / ticksPerSecond / seconds * 100:0}% cpu, last core {sample.Core}, switches {voluntary} vol / {involuntary} invol]");
        }

        return line.ToString();
    }

    private readonly record struct ThreadSample(string Name, long CpuTicks, int Core, long Voluntary, long Involuntary)
    {
        public static Dictionary<int, ThreadSample> All()
        {
            var result = new Dictionary<int, ThreadSample>();
            foreach (string dir in Directory.EnumerateDirectories("/proc/self/task"))
            {
                try
                {
                    string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                    int open = stat.IndexOf('(', StringComparison.Ordinal);
                    int close = stat.LastIndexOf(')');
                    string name = stat[(open + 1)..close];
                    string[] fields = stat[(close + 2)..].Split(' '); // fields[0] is field 3 (state)
                    long cpu = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                    int core = int.Parse(fields[36], CultureInfo.InvariantCulture);
                    long voluntary = 0, involuntary = 0;
                    foreach (string statusLine in File.ReadLines(Path.Combine(dir, "status")))
                    {
                        if (statusLine.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal))
                        {
                            voluntary = long.Parse(statusLine.AsSpan(24).Trim(), CultureInfo.InvariantCulture);
                        }
                        else if (statusLine.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                        {
                            involuntary = long.Parse(statusLine.AsSpan(27).Trim(), CultureInfo.InvariantCulture);
                        }
                    }

                    result[int.Parse(Path.GetFileName(dir), CultureInfo.InvariantCulture)] = new ThreadSample(name, cpu, core, voluntary, involuntary);
                }
                catch (IOException)
                {
                    // The thread ended meanwhile.
                }
            }

            return result;
        }
    }
}
