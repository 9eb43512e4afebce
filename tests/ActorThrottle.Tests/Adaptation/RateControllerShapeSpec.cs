using ActorThrottle.Adaptation;
using Xunit;
using Xunit.Abstractions;

namespace ActorThrottle.Tests.Adaptation;

/// <summary>
/// The provider shapes where <c>requests-per-second = auto</c> missed in the benchmark matrix (issue 13), each reproduced
/// on virtual time with the pipeline as the supervisor wires it (<see cref="VirtualShapeLoop"/>).
/// </summary>
public sealed class RateControllerShapeSpec(ITestOutputHelper output)
{
    private static RateController Auto(string extra = "") => new(RateControllerReplaySpec.Settings($"requests-per-second = auto\n{extra}"));

    [Theory]
    [InlineData(30)]
    [InlineData(80)]
    public void Auto_against_a_concurrency_cap_of_20_lowers_the_in_flight_limit_keeps_the_rate_and_runs_at_the_cap(int maxTransitMs)
    {
        foreach (var seed in new[] { 1, 2, 3, 4, 5 })
        {
            // 20 in flight at 100-300 ms: about 100/s.
            var loop = new VirtualShapeLoop(Auto(), new ConcurrencyCapShape(20, maxTransitMs, seed), (100, 300), seed);
            loop.Run(30);
            output.WriteLine($"seed {seed}: {loop.Describe()}");

            Assert.True(loop.Goodput(10, 30) >= 0.95 * 100, $"goodput after 10 s {loop.Goodput(10, 30):0.#}: {loop.Describe()}");
            Assert.True(loop.RejectedShare(10, 30) <= 0.03, loop.Describe());
            Assert.DoesNotContain(loop.Changes, c => c.Reason == RateChangeReason.Overload);
        }
    }

    [Theory]
    [InlineData("requests-per-second = 20", 20, 4)]
    [InlineData("requests-per-second = 10", 10, 2)]
    [InlineData("requests-per-second = auto", 20, 4)]
    public void A_low_rate_bucket_holding_less_than_the_opening_burst_runs_at_its_rate_from_the_first_seconds(string rate, double limit, double burst)
    {
        foreach (var seed in new[] { 1, 2, 3 })
        {
            // The deployments benchmark's buckets (a fifth of a second's worth): the opening burst of 10 draws 429s sent
            // together, before any answer. They shrink the burst; the rate stays (it halved before, and at 20/s growing back
            // at 20 successes a step took 15 s).
            var loop = new VirtualShapeLoop(new RateController(RateControllerReplaySpec.Settings(rate)), new HeaderlessTokenBucketShape(limit, burst), (50, 80), seed);
            loop.Run(30);
            output.WriteLine($"{rate}, seed {seed}: {loop.Describe()}");

            Assert.True(loop.Goodput(0, 10) >= 0.95 * limit, $"goodput in the first 10 s {loop.Goodput(0, 10):0.#}: {loop.Describe()}");
            Assert.True(loop.Goodput(10, 30) >= 0.97 * limit, $"goodput after 10 s {loop.Goodput(10, 30):0.#}: {loop.Describe()}");
            Assert.True(loop.RejectedShare(10, 30) <= 0.02, loop.Describe());
            Assert.DoesNotContain(loop.Changes, c => c.Reason == RateChangeReason.Overload);
        }
    }

    [Theory]
    [InlineData("requests-per-second = auto", 0, 2)]
    [InlineData("requests-per-second = auto", 100, 300)]
    [InlineData("requests-per-second = 100", 0, 2)]
    [InlineData("requests-per-second = 100", 100, 300)]
    public void A_burst_5_gcra_with_whole_second_retry_after_runs_at_its_rate(string rate, int low, int high)
    {
        foreach (var seed in new[] { 1, 2, 3 })
        {
            var loop = new VirtualShapeLoop(new RateController(RateControllerReplaySpec.Settings(rate)), new GcraIetfSeparateShape(100, 5), (low, high), seed);
            loop.Run(20);
            output.WriteLine($"seed {seed}: {loop.Describe()}");

            var from = rate.EndsWith("auto", StringComparison.Ordinal) ? 10 : 2;
            Assert.True(loop.Goodput(from, 20) >= 0.95 * 100, $"goodput after {from} s {loop.Goodput(from, 20):0.#}: {loop.Describe()}");
            Assert.True(loop.RejectedShare(from, 20) <= 0.03, loop.Describe());
        }
    }

    [Fact]
    public void Five_429s_from_an_empty_bucket_refilled_faster_than_the_rate_cap_the_burst_and_leave_rate_and_pauses_short()
    {
        var controller = new RateController(RateControllerReplaySpec.Settings("requests-per-second = 100"));
        var t0 = VirtualShapeLoop.T0;
        var ok = (int remaining) => VirtualShapeLoop.Parse(t0, ("RateLimit-Limit", "100"), ("RateLimit-Remaining", remaining.ToString(System.Globalization.CultureInfo.InvariantCulture)), ("RateLimit-Reset", "1"));
        var rejected = VirtualShapeLoop.Parse(t0, ("RateLimit-Limit", "100"), ("RateLimit-Remaining", "0"), ("RateLimit-Reset", "1"), ("retry-after", "1"));
        var decisions = new List<RateDecision>();
        for (var i = 0; i < 5; i++)
        {
            decisions.Add(controller.Observe(RateOutcome.Success(t0.AddMilliseconds(i), t0.AddMilliseconds(i + 1), headers: ok(4 - i))));
        }
        for (var i = 5; i < 10; i++)
        {
            decisions.Add(controller.Observe(RateOutcome.RateLimited(t0.AddMilliseconds(i), t0.AddMilliseconds(i + 1), headers: rejected)));
        }

        Assert.Equal(100, controller.Settings.Rate);
        // The most the bucket was seen holding after a success: 4.
        Assert.Equal(4, controller.Settings.Burst);
        var changes = decisions.SelectMany(d => d.Changes).ToList();
        Assert.DoesNotContain(changes, c => c.Reason == RateChangeReason.Overload);
        Assert.All(decisions.SelectMany(d => d.Pauses), p => Assert.True(p.Until <= t0.AddMilliseconds(11 + 10), $"pause until {p.Until:O}"));
        Assert.Contains("burst at most 4", Assert.Single(changes).Detail);
    }

    [Fact]
    public void Configured_ten_times_too_high_a_429_from_an_empty_bucket_settles_the_rate_at_its_pace()
    {
        var controller = new RateController(RateControllerReplaySpec.Settings("requests-per-second = 1000"));
        var t0 = VirtualShapeLoop.T0;
        var rejected = VirtualShapeLoop.Parse(t0, ("RateLimit-Limit", "100"), ("RateLimit-Remaining", "0"), ("RateLimit-Reset", "1"), ("retry-after", "1"));
        controller.Observe(RateOutcome.Success(t0, t0.AddMilliseconds(1)));
        controller.Observe(RateOutcome.RateLimited(t0.AddMilliseconds(2), t0.AddMilliseconds(3), headers: rejected));

        Assert.Equal(99.5, controller.Settings.Rate, 6);
    }

    [Theory]
    [InlineData(0, 2)]
    [InlineData(100, 300)]
    public void Auto_against_a_10_s_sliding_window_counter_runs_near_its_policy_with_few_429s(int low, int high)
    {
        foreach (var (seed, offsetSeconds) in new[] { (1, 0.0), (2, 3.3), (3, 7.9) })
        {
            var loop = new VirtualShapeLoop(Auto(), new SlidingWindowCounterShape(1000, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(offsetSeconds)), (low, high), seed);
            loop.Run(40);
            output.WriteLine($"seed {seed}: {loop.Describe()}");

            Assert.True(loop.Goodput(10, 40) >= 0.95 * 100, $"goodput after 10 s {loop.Goodput(10, 40):0.#}: {loop.Describe()}");
            Assert.True(loop.RejectedShare(10, 40) <= 0.03, $"429s after 10 s {loop.RejectedShare(10, 40):P1}: {loop.Describe()}");
        }
    }

    [Fact]
    public void An_overload_of_429s_from_an_empty_bucket_at_its_pace_cuts_the_rate_no_lower_than_the_pace()
    {
        var controller = new RateController(RateControllerReplaySpec.Settings("requests-per-second = 100\nmin-burst = 1\nmax-burst = 1"));
        var t0 = VirtualShapeLoop.T0;
        var rejected = VirtualShapeLoop.Parse(t0, ("RateLimit-Limit", "100"), ("RateLimit-Remaining", "0"), ("RateLimit-Reset", "1"), ("retry-after", "1"));
        // At burst 1 a 429 cannot be a burst's: eight in a row at 99 requests/s are an overload.
        var decisions = Enumerable.Range(0, 8).Select(i => controller.Observe(RateOutcome.RateLimited(t0.AddMilliseconds(i * 10), t0.AddMilliseconds(i * 10 + 1), headers: rejected))).ToList();

        // The overload is seen (the model pauses with an emptied throttle) but the rate stays at the stated pace.
        Assert.Contains(decisions.SelectMany(d => d.Pauses), p => p.Empty && p.Cause.StartsWith("overload", StringComparison.Ordinal));
        Assert.Equal(99.5, controller.Settings.Rate, 6);
        // Paused for one request's worth after the last 429, not the whole second its retry-after says.
        Assert.All(decisions.SelectMany(d => d.Pauses), p => Assert.True(p.Until <= t0.AddMilliseconds(71 + 10), $"pause until {p.Until:O}"));
    }

    [Fact]
    public void Auto_against_a_headerless_token_bucket_at_100_to_300_ms_is_rate_controlled_not_taken_for_a_concurrency_cap()
    {
        foreach (var seed in new[] { 1, 2, 3, 4, 5 })
        {
            var loop = new VirtualShapeLoop(Auto(), new HeaderlessTokenBucketShape(100, 10), (100, 300), seed);
            loop.Run(30);
            output.WriteLine($"seed {seed}: {loop.Describe()}");

            Assert.True(loop.Goodput(10, 30) >= 0.95 * 100, $"goodput after 10 s {loop.Goodput(10, 30):0.#}: {loop.Describe()}");
            Assert.True(loop.RejectedShare(10, 30) <= 0.03, loop.Describe());
            // The rate, not the in-flight limit, paces it: the rate comes down to the bucket's.
            Assert.InRange(loop.AtSecond[^1].Rate, 80, 120);
        }
    }
}
