using FastSidecar.Queues;

namespace FastSidecar.Tests.Queues;

/// <summary>The spin budget's rules, on stopwatch ticks given directly (no clock, no threads).</summary>
public sealed class AdaptiveSpinTests
{
    private const long Limit = 200_000;

    [Fact]
    public void Waits_longer_than_a_quarter_of_the_limit_are_covered_by_twice_their_typical_length()
    {
        var spin = new AdaptiveSpin(Limit);
        for (int i = 0; i < 100; i++)
        {
            spin.Learn(Limit * 45 / 100, metWhileSpinning: false); // parked, answered at 45 % of the limit
        }

        // A fixed window of a quarter would spin, miss, park and pay a wake-up on every one of these waits.
        Assert.InRange(spin.Ticks, Limit * 85 / 100, Limit * 90 / 100);
    }

    [Fact]
    public void Quick_waits_keep_a_quarter_of_the_limit_and_no_more()
    {
        var spin = new AdaptiveSpin(Limit);
        for (int i = 0; i < 100; i++)
        {
            spin.Learn(Limit / 50, metWhileSpinning: true);
        }

        Assert.Equal(Limit / 4, spin.Ticks);
    }

    [Fact]
    public void Waits_that_outlast_the_limit_halve_the_budget_down_to_parking_at_once_and_one_short_wait_restores_it()
    {
        var spin = new AdaptiveSpin(Limit);
        Assert.Equal(Limit, spin.Ticks);
        spin.Learn(Limit * 3, metWhileSpinning: false);
        Assert.Equal(Limit / 2, spin.Ticks);
        spin.Learn(Limit * 3, metWhileSpinning: false);
        spin.Learn(Limit * 3, metWhileSpinning: false);
        Assert.Equal(Limit / 8, spin.Ticks);
        spin.Learn(Limit * 3, metWhileSpinning: false);
        Assert.Equal(0, spin.Ticks);

        spin.Learn(Limit / 2, metWhileSpinning: false); // parked at once, yet answered within the limit
        Assert.InRange(spin.Ticks, Limit / 4, Limit);
    }

    [Fact]
    public void A_wait_met_while_spinning_counts_however_long_it_lasted_and_moves_the_typical_wait_only_up_to_the_limit()
    {
        var spin = new AdaptiveSpin(Limit);
        for (int i = 0; i < 100; i++)
        {
            spin.Learn(Limit * 10, metWhileSpinning: true); // a spin cannot outlast the limit; a late check can
        }

        Assert.Equal(Limit, spin.Ticks);
    }

    [Fact]
    public void An_unbounded_spin_never_changes()
    {
        var spin = new AdaptiveSpin(long.MaxValue);
        spin.Learn(long.MaxValue / 2, metWhileSpinning: false);
        Assert.Equal(long.MaxValue, spin.Ticks);
    }
}
