using SharpFuzz;

namespace FastSidecar.Fuzz;

/// <summary>
/// Entry point of the fuzzing harness: <c>FastSidecar.Fuzz &lt;target&gt; [afl|libfuzzer|replay PATH...]</c>.
/// </summary>
/// <remarks>
/// <c>afl</c> (the default) runs under afl-fuzz through SharpFuzz's shared-memory protocol and is what fuzz/run.sh
/// uses; <c>libfuzzer</c> runs under libfuzzer-dotnet where that is available; <c>replay</c> runs the target once
/// on each file or directory given, without any fuzzer, to reproduce a finding under a debugger; use it on a build
/// that sharpfuzz has not instrumented, since instrumented code expects AFL's shared coverage map.
/// </remarks>
internal static class Program
{
    private static int Main(string[] args)
    {
        if (args.Length == 0)
        {
            return Usage();
        }

        ReadOnlySpanAction? target = args[0] switch
        {
            "handshake" => HandshakeTarget.Run,
            "frames" => FrameTarget.Run,
            "proxy" => ProxyConnectTarget.Run,
            _ => null,
        };

        if (target is null)
        {
            return Usage();
        }

        string engine = args.Length > 1 ? args[1] : "afl";
        switch (engine)
        {
            case "afl":
                // SharpFuzz hands each input over as a stream; the targets work on spans.
                Fuzzer.OutOfProcess.Run(stream =>
                {
                    using var copy = new MemoryStream();
                    stream.CopyTo(copy);
                    target(copy.GetBuffer().AsSpan(0, (int)copy.Length));
                });
                return 0;
            case "libfuzzer":
                Fuzzer.LibFuzzer.Run(target);
                return 0;
            case "replay":
                return Replay(target, args.AsSpan(2));
            default:
                return Usage();
        }
    }

    private static int Replay(ReadOnlySpanAction target, ReadOnlySpan<string> paths)
    {
        int count = 0;
        foreach (string path in paths)
        {
            IEnumerable<string> files = Directory.Exists(path)
                ? Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
                : [path];
            foreach (string file in files)
            {
                target(File.ReadAllBytes(file));
                count++;
            }
        }

        Console.WriteLine($"replayed {count} inputs without a finding");
        return 0;
    }

    private static int Usage()
    {
        Console.Error.WriteLine("usage: FastSidecar.Fuzz <handshake|frames|proxy> [afl|libfuzzer|replay PATH...]");
        return 2;
    }
}
