using ActorThrottle.Adaptation;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace ActorThrottle.Tests.Adaptation;

public sealed class RateStepSpec
{
    [Theory]
    // rate, accepted, cutRate → rate, learned
    [InlineData(120, 100.0, false, 97, 97.0)]   // an estimate below: settle under it, and learn it
    [InlineData(120, 100.0, true, 97, 97.0)]
    [InlineData(200, 100.0, false, 100, 97.0)]  // … but never more than the decrease factor in one step
    [InlineData(200, 20.0, true, 100, 19.4)]    // never more than the decrease factor in one step
    [InlineData(100, 200.0, false, 100, null)]  // an estimate above and the burst can absorb it: unchanged
    [InlineData(100, 200.0, true, 97, null)]    // at the burst floor with an estimate above: the settle margin
    [InlineData(100, null, false, 100, null)]   // no estimate, burst can absorb: unchanged
    [InlineData(100, null, true, 50, null)]     // no estimate, at the floor: the decrease factor
    [InlineData(1.5, null, true, 1, null)]      // never below min-rate
    [InlineData(1, 0.5, true, 1, 0.485)]
    public void The_rate_after_a_429(double rate, double? accepted, bool cutRate, double expected, double? learned)
    {
        var (next, l) = RateStep.Decrease(rate, accepted, minRate: 1, decreaseFactor: 0.5, settleFraction: 0.97, cutRate);
        Assert.Equal(expected, next, 9);
        Assert.Equal(learned is null, l is null);
        if (learned is { } x)
        {
            Assert.Equal(x, l!.Value, 9);
        }
    }

    [Property(MaxTest = 500)]
    public Property The_rate_never_rises_never_falls_below_the_floors_and_learns_only_from_a_lower_estimate(
        PositiveInt rateSeed, int acceptedSeed, bool cutRate, PositiveInt factorSeed, PositiveInt settleSeed)
    {
        const double minRate = 0.1;
        var rate = minRate + rateSeed.Get % 100_000 / 10.0;
        double? accepted = acceptedSeed < 0 ? null : acceptedSeed % 200_000 / 10.0;
        var factor = 0.05 + factorSeed.Get % 90 / 100.0;
        var settle = settleSeed.Get % 101 / 100.0;
        var (next, learned) = RateStep.Decrease(rate, accepted, minRate, factor, settle, cutRate);
        var floor = Math.Max(minRate, rate * factor);
        var lowerEstimate = accepted is { } a && a * settle < rate;
        var ok = next <= rate + 1e-9
                 && next >= Math.Min(rate, minRate) - 1e-9
                 && (learned is not null) == lowerEstimate
                 && (!lowerEstimate || next >= Math.Min(rate, floor) - 1e-9)
                 && (lowerEstimate || cutRate || next == rate)
                 && (accepted is not null || !cutRate || Math.Abs(next - Math.Min(rate, floor)) < 1e-9);
        return ok.Label($"rate {rate} accepted {accepted} factor {factor} settle {settle} cut {cutRate} → {next}, learned {learned}");
    }
}
