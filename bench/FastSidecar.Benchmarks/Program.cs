using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using FastSidecar.Benchmarks.Stress;

namespace FastSidecar.Benchmarks;

internal static class Program
{
    private static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "stress")
        {
            return StressRunner.Run(args.AsSpan(1));
        }

        if (args.Length > 0 && args[0] == "deflate")
        {
            return Deflate.DeflateRates.Run(args.AsSpan(1));
        }

        if (args.Length > 0 && args[0] == "scale")
        {
            return Scale.ScaleRunner.Run(args.AsSpan(1));
        }

        if (args.Length > 0 && args[0] == "tls")
        {
            return Tls.TlsCostRunner.Run(args.AsSpan(1));
        }

        // The machine is shared with other builds: the default two-minute build timeout is not always enough.
        IConfig config = ManualConfig.Create(DefaultConfig.Instance).WithBuildTimeout(TimeSpan.FromMinutes(10));
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
        return 0;
    }
}
