using System.Text.Json;
using FastSidecar.Tests.Facade;

namespace FastSidecar.Tests.Cli;

/// <summary>The two commands that count threads and descriptors run alone, next to the other resource-counting tests.</summary>
[Collection(ResourceCountingGroup.Name)]
public sealed class DemoAndReinitCommandTests
{
    [Fact]
    public void Demo_with_a_reduced_run_prints_the_three_tables_and_writes_the_numbers()
    {
        string json = Path.Combine(Path.GetTempPath(), $"fastsidecar-demo-{Guid.NewGuid():N}.json");
        try
        {
            CliRun run = CliRun.Start("", "demo", "--round-trips", "400", "--warmup", "100", "--block", "100", "--messages", "2000", "--json", json);

            Assert.True(run.ExitCode == 0, run.Error);
            Assert.Contains("Echo round trip", run.Output, StringComparison.Ordinal);
            Assert.Contains("p99.9", run.Output, StringComparison.Ordinal);
            Assert.Contains("Throughput", run.Output, StringComparison.Ordinal);
            Assert.Contains("join the thread", run.Output, StringComparison.Ordinal);
            using JsonDocument numbers = JsonDocument.Parse(File.ReadAllText(json));
            JsonElement roundTrip = numbers.RootElement.GetProperty("roundTrip");
            Assert.Equal(400, roundTrip.GetProperty("countEach").GetInt64());
            Assert.True(roundTrip.GetProperty("sidecarMicros").GetProperty("p50").GetDouble() > 0);
            Assert.True(roundTrip.GetProperty("rawFloorMicros").GetProperty("p50").GetDouble() > 0);
            Assert.True(numbers.RootElement.GetProperty("throughput").GetProperty("receivedPerSecond").GetDouble() > 0);
            Assert.Equal(4, numbers.RootElement.GetProperty("shutdown").GetProperty("steps").GetArrayLength());
        }
        finally
        {
            File.Delete(json);
        }
    }

    [Fact]
    public void Reinit_with_mixed_faults_reports_zero_leaks()
    {
        string json = Path.Combine(Path.GetTempPath(), $"fastsidecar-reinit-{Guid.NewGuid():N}.json");
        try
        {
            // A process of its own: the census counts its process's heap, which inside the test host also holds
            // whatever the other tests left for the collector.
            var run = CliProcess.Run("", "reinit", "--cycles", "50", "--fault", "mixed", "--json", json);

            Assert.True(run.ExitCode == 0, run.Output + run.Error);
            Assert.Contains("no leaks", run.Output, StringComparison.Ordinal);
            using JsonDocument numbers = JsonDocument.Parse(File.ReadAllText(json));
            JsonElement leaks = numbers.RootElement.GetProperty("leaks");
            Assert.Equal(0, leaks.GetProperty("threads").GetInt32());
            Assert.Equal(0, leaks.GetProperty("fileDescriptors").GetInt32());
            Assert.Equal(0, leaks.GetProperty("rentals").GetInt64());
            Assert.Equal(0, leaks.GetProperty("loops").GetInt32());
            Assert.False(leaks.GetProperty("leaked").GetBoolean());
            // Every kind of cycle ran, and those that connect went through Exit.
            JsonElement kinds = numbers.RootElement.GetProperty("kinds");
            foreach (string kind in new[] { "echo", "reset", "silent", "midframe", "refused", "stalled", "peer-close" })
            {
                Assert.True(kinds.GetProperty(kind).GetProperty("cycles").GetInt32() > 0, kind);
            }

            Assert.True(kinds.GetProperty("echo").GetProperty("exchanged").GetInt32() > 0);
            Assert.Equal(0, kinds.GetProperty("refused").GetProperty("connected").GetInt32());
        }
        finally
        {
            File.Delete(json);
        }
    }

    [Fact]
    public void Reinit_rejects_an_unknown_fault_as_a_usage_error()
    {
        CliRun run = CliRun.Start("", "reinit", "--cycles", "1", "--fault", "bogus");

        Assert.Equal(2, run.ExitCode);
    }
}
