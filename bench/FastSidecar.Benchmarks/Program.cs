using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using FastSidecar.Benchmarks.Stress;

namespace FastSidecar.Benchmarks;

internal static class Program
{
    private static int Main(string[] args)
    {
        // Runners that are not BenchmarkDotNet suites take the first argument as their name.
        string runner = args.Length > 0 ? args[0] : "";
        ReadOnlySpan<string> rest = args.Length > 0 ? args.AsSpan(1) : default;
        switch (runner)
        {
            case "stress": return StressRunner.Run(rest);
            case "deflate": return Deflate.DeflateRates.Run(rest);
            case "flood": return Throughput.FloodRates.Run(rest);
            case "lifecycle": return Lifecycle.LifecycleRunner.Run(rest);
            case "lifecycle-cost": return Lifecycle.LifecycleCostRunner.Run(rest);
            case "reconnect": return Reconnect.ReconnectRecoveryRunner.Run(rest);
            case "scale": return Scale.ScaleRunner.Run(rest);
            case "tls": return Tls.TlsCostRunner.Run(rest);
        }

        // The machine is shared with other builds: the default two-minute build timeout is not always enough.
        IConfig config = ManualConfig.Create(DefaultConfig.Instance).WithBuildTimeout(TimeSpan.FromMinutes(10));
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
        return 0;
    }
}
