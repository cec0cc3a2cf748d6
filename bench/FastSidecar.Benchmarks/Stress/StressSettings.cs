using System.Globalization;

namespace FastSidecar.Benchmarks.Stress;

/// <summary>Command-line settings of the stress runner; every count can be lowered for a quick check.</summary>
internal sealed record StressSettings
{
    public int RoundTrips { get; init; } = 200_000;
    public int BlockSize { get; init; } = 10_000;
    public string OutputDirectory { get; init; } = "perf-results/stress";
    public int ExitCycles { get; init; } = 1_000;
    public int SilentExitCycles { get; init; } = 200;
    public TimeSpan SilentCloseTimeout { get; init; } = TimeSpan.FromMilliseconds(100);
    public int ReinitCycles { get; init; } = 10_000;
    public int CleanCycles { get; init; } = 2_000;
    public int StarvedRoundTrips { get; init; } = 20_000;
    public long FloodMessages { get; init; } = 2_000_000;
    public int SeedMessages { get; init; } = 50_000;
    public int SeedRounds { get; init; } = 5;
    public IReadOnlySet<string>? OnlyContenders { get; init; } // round trips: these contenders only (for a scheduler trace of one)
    public IReadOnlySet<string>? OnlyPeers { get; init; }
    public IReadOnlySet<string> Sections { get; init; } = new HashSet<string> { "roundtrip", "exit", "reinit", "starvation", "flood", "seed" };

    public static StressSettings Parse(ReadOnlySpan<string> args)
    {
        var settings = new StressSettings();
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            string value = i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value.");
            settings = name switch
            {
                "--round-trips" => settings with { RoundTrips = Int(value) },
                "--block" => settings with { BlockSize = Int(value) },
                "--out" => settings with { OutputDirectory = value },
                "--exit-cycles" => settings with { ExitCycles = Int(value) },
                "--silent-cycles" => settings with { SilentExitCycles = Int(value) },
                "--silent-close-timeout-ms" => settings with { SilentCloseTimeout = TimeSpan.FromMilliseconds(Int(value)) },
                "--reinit-cycles" => settings with { ReinitCycles = Int(value) },
                "--clean-cycles" => settings with { CleanCycles = Int(value) },
                "--starved-round-trips" => settings with { StarvedRoundTrips = Int(value) },
                "--flood-messages" => settings with { FloodMessages = Int(value) },
                "--seed-messages" => settings with { SeedMessages = Int(value) },
                "--seed-rounds" => settings with { SeedRounds = Int(value) },
                "--only" => settings with { OnlyContenders = value.Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet() },
                "--peers" => settings with { OnlyPeers = value.Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet() },
                "--sections" => settings with { Sections = value.Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet() },
                _ => throw new ArgumentException($"Unknown option {name}. Options: --round-trips N --block N --out DIR --exit-cycles N --silent-cycles N --silent-close-timeout-ms N --reinit-cycles N --clean-cycles N --starved-round-trips N --flood-messages N --seed-messages N --seed-rounds N --only KIND,KIND --peers own,blocking,node --sections roundtrip,exit,reinit,starvation,flood,seed"),
            };
        }

        return settings;
    }

    private static int Int(string value) => int.Parse(value, NumberStyles.None, CultureInfo.InvariantCulture);
}
