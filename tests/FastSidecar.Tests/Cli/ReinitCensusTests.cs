using FastSidecar.Tests.Facade;

namespace FastSidecar.Tests.Cli;

/// <summary>
/// The <c>reinit</c> census with its defaults. Run alone: a second or two of connection cycles on both cores, which
/// the timed tests of the parallel phase should not share.
/// </summary>
[Collection(ResourceCountingGroup.Name)]
public sealed class ReinitCensusTests
{
    [Fact]
    public void Reinit_with_its_default_warm_up_counts_the_connections_growth_not_the_display_s()
    {
        // Long enough for the progress display to render mid-run: what its first renders load (the terminal's
        // capabilities, a Unicode width table: about 180 KB) used to land after the baseline of a short warm-up.
        var run = CliProcess.Run("", "reinit", "--cycles", "1500");

        Assert.True(run.ExitCode == 0, run.Output + run.Error);
        Assert.Contains("no leaks", run.Output, StringComparison.Ordinal);
    }
}
