using ActorThrottle.Adaptation;
using Xunit;
using Xunit.Abstractions;

namespace ActorThrottle.Tests.Adaptation;

/// <summary>Closed loops on virtual time (<see cref="VirtualProviderLoop"/>): a configured number too high, a limit that changes.</summary>
public sealed class RateControllerLoopSpec(ITestOutputHelper output)
{
    [Theory]
    [InlineData(0, 2)]
    [InlineData(100, 300)]
    public void Configured_twice_the_real_limit_settles_under_it_within_the_first_seconds(int low, int high)
    {
        foreach (var seed in new[] { 1, 2, 3, 4, 5 })
        {
            var loop = new VirtualProviderLoop(new RateController(RateControllerReplaySpec.Settings("requests-per-second = 200")), _ => 100, providerBurst: 10, (low, high), seed: seed);
            loop.Run(30);
            output.WriteLine($"seed {seed}: {loop.Describe()}");

            Assert.True(loop.Goodput(5, 30) >= 95, $"goodput after 5 s {loop.Goodput(5, 30):0.#}: {loop.Describe()}");
            Assert.True(loop.RejectedShare <= 0.03, loop.Describe());
            Assert.All(loop.RateAtSecond, r => Assert.True(r <= 200));
        }
    }

    [Fact]
    public void Auto_follows_a_limit_that_drops_to_40_percent_and_comes_back()
    {
        var loop = new VirtualProviderLoop(new RateController(RateControllerReplaySpec.Settings("requests-per-second = auto")),
            t => t is >= 20 and < 40 ? 40 : 100, providerBurst: 10, (50, 150));
        loop.Run(60);
        output.WriteLine(loop.Describe());

        Assert.InRange(loop.Goodput(30, 40), 0.9 * 40, 40.5);
        Assert.True(loop.Goodput(50, 60) >= 90, loop.Describe());
    }

    [Fact]
    public void A_configured_limit_that_drops_to_40_percent_and_comes_back_is_grown_back_to_at_the_normal_pace()
    {
        var loop = new VirtualProviderLoop(new RateController(RateControllerReplaySpec.Settings("requests-per-second = 100")),
            t => t is >= 10 and < 20 ? 40 : 100, providerBurst: 10, (50, 150));
        loop.Run(60);
        output.WriteLine(loop.Describe());

        Assert.InRange(loop.Goodput(15, 20), 0.9 * 40, 40.5);
        // Probing past the rate learned at 40/s a fifth as fast took the rest of a minute; at the normal pace, once 10 %
        // above it held, the rate is back near the limit within about 20 s.
        Assert.True(loop.Goodput(45, 60) >= 90, loop.Describe());
        Assert.All(loop.RateAtSecond, r => Assert.True(r <= 100));
    }

    [Theory]
    [InlineData(100)]
    [InlineData(1000)]
    public void A_configured_limit_that_comes_back_is_slow_started_back_to_the_rate_held_before_and_no_further(int configured)
    {
        var loop = new VirtualProviderLoop(new RateController(RateControllerReplaySpec.Settings($"requests-per-second = {configured}")),
            t => t is >= 10 and < 20 ? 40 : 100, providerBurst: 10, (50, 150));
        loop.Run(45);
        output.WriteLine(loop.Describe());

        var back = loop.Changes.Where(c => c.At > loop.Start + TimeSpan.FromSeconds(20)).ToList();
        // Back near the limit within about 10 s of its return (the normal pace from 44/s took about 20 s) ...
        Assert.True(loop.Goodput(32, 45) >= 95, loop.Describe());
        // ... by doubling from the learned rate to the rate held before the drop (the provider's burst lets it hold a
        // little over 100/s): no higher, whatever the configured number.
        var heldBefore = loop.RateAtSecond.Skip(2).Take(8).Max();
        var slowStarts = back.Where(c => c.Reason == RateChangeReason.SlowStart).ToList();
        Assert.NotEmpty(slowStarts);
        Assert.InRange(slowStarts.Max(c => c.After.Rate), 95, heldBefore + 1e-6);
        Assert.True(loop.Seconds.Skip(20).Sum(s => s.Rejected) <= 0.02 * loop.Seconds.Skip(20).Sum(s => s.Attempts), loop.Describe());
    }
}
