using ActorThrottle.Messages;
using ActorThrottle.Tests.Backend;
using Xunit;
using Xunit.Abstractions;
using S = ActorThrottle.Simulator;

namespace ActorThrottle.Tests.Integration;

/// <summary>
/// The engine with its real OpenAI SDK backend against the in-process simulator on loopback. Limits are 1,000/s
/// or more where load is high; every assertion is on outcomes and server-side counts, never on speed.
/// </summary>
[Collection(LoopbackCollection.Name)]
public sealed class SimulatorScenarioSpec(ITestOutputHelper output)
{
    /// <summary>Engine settings shared by the scenarios: realistic adapt settings scaled to ~1,000 requests/s.</summary>
    private const string Common = """
        actor-throttle.request-timeout = 2s
        actor-throttle.defaults {
          max-in-flight = 32
          queue-size = 10000
          min-rate = 50
          retry { max-attempts = 10, base-delay = 5ms, max-delay = 100ms }
          adapt { cool-down = 200ms, increase-after = 5 }
        }
        """;

    private static S.ModelSettings SimModel(double perSecond, double burst, int seed) => new()
    {
        RequestsPerSecond = perSecond,
        RequestsPerSecondBurst = burst,
        Latency = TimeSpan.FromMilliseconds(2),
        LatencyJitter = TimeSpan.FromMilliseconds(3),
        Seed = seed,
    };

    [Fact]
    public async Task At_a_known_limit_every_request_succeeds_without_429s_once_steady_and_the_limit_holds()
    {
        await using var run = await SimulatorRun.StartAsync(
            new Dictionary<string, S.ModelSettings> { ["known"] = SimModel(1000, 200, seed: 1) },
            Common + "\nactor-throttle.defaults { requests-per-second = 1000, max-burst = 50 }",
            output);
        var start = run.SimSecondsNow();
        var ids = run.Send("known", 2500, "k");
        await run.AwaitAnsweredAsync(ids);
        run.Dump("known");

        var replies = run.AssertAnsweredExactlyOnce(ids);
        Assert.All(replies.Values, r => Assert.IsType<ChatSuccess>(r));
        var totals = run.Sim.GetStats().For("known").Totals;
        Assert.Equal(2500, totals.Accepted);
        Assert.Equal(2500, run.EngineSuccesses("known"));
        // Steady: every whole second after the first one of the run.
        var steady = run.SecondsBetween("known", (long)Math.Floor(start) + 1, long.MaxValue);
        output.WriteLine($"429s total {totals.RateLimited}, after the first second {steady.RateLimited}; max attempts {replies.Values.Max(r => r.Attempts)}");
        Assert.Equal(0, steady.RateLimited);
        Assert.Equal(totals.Accepted + totals.RateLimited, replies.Values.Sum(r => (long)r.Attempts));
        var maxInSecond = run.Sim.MaxAcceptedInWindow("known", TimeSpan.FromSeconds(1));
        var maxIn100Ms = run.Sim.MaxAcceptedInWindow("known", TimeSpan.FromMilliseconds(100));
        output.WriteLine($"max accepted in 1 s: {maxInSecond}, in 100 ms: {maxIn100Ms}");
        Assert.InRange(maxInSecond, 1, 1000 * 1 + 200);
        Assert.InRange(maxIn100Ms, 1, 1000 * 0.1 + 200);
    }

    [Fact]
    public async Task When_the_real_limit_is_half_the_configured_one_burst_and_rate_come_down_and_429s_stop()
    {
        await using var run = await SimulatorRun.StartAsync(
            new Dictionary<string, S.ModelSettings> { ["half"] = SimModel(1000, 50, seed: 2) },
            Common + "\nactor-throttle.defaults { requests-per-second = 2000, max-burst = 100 }",
            output);
        var ids = run.Send("half", 3000, "h");
        await run.AwaitAnsweredAsync(ids);
        var status = await run.Engine.GetStatusAsync("half");
        run.Dump("half");
        output.WriteLine($"final burst {status.Burst}, rate {status.Rate:0.#}, pending {status.Pending}, found by {status.RateFoundBy}, changes {status.RateChanges}");

        var replies = run.AssertAnsweredExactlyOnce(ids);
        Assert.All(replies.Values, r => Assert.IsType<ChatSuccess>(r));
        var totals = run.Sim.GetStats().For("half").Totals;
        Assert.Equal(3000, totals.Accepted);
        Assert.Equal(3000, run.EngineSuccesses("half"));
        Assert.Equal(totals.Accepted + totals.RateLimited, replies.Values.Sum(r => (long)r.Attempts));
        Assert.InRange(replies.Values.Max(r => r.Attempts), 1, 10);

        // AIMD learned: the burst went to its floor and then the rate came down from the configured 2,000/s.
        Assert.True(status.Burst < 100, $"burst {status.Burst}");
        Assert.True(status.Rate < 2000, $"rate {status.Rate}");

        // 429s die down: the later half of the run (whole seconds) sees few of them.
        var mid = run.LaterHalfStart("half");
        var early = run.SecondsBetween("half", 0, mid);
        var late = run.SecondsBetween("half", mid, long.MaxValue);
        output.WriteLine($"early (s < {mid}): accepted {early.Accepted}, 429 {early.RateLimited}; late: accepted {late.Accepted}, 429 {late.RateLimited}");
        Assert.True(early.RateLimited > 0, "the configured limit is twice the real one: the first second must meet 429s");
        // AIMD's additive increase (+1/s per increase-after successes) overshoots the real limit again and again,
        // so 429s come back in small clusters (about 1-6% of the later half measured): the bound is a fraction.
        Assert.True(late.RateLimited <= Math.Max(10, late.Accepted / 10), $"late 429s {late.RateLimited} for {late.Accepted} accepted");
    }

    [Fact]
    public async Task When_the_limit_drops_mid_run_the_engine_adapts_and_every_request_is_answered_once()
    {
        await using var run = await SimulatorRun.StartAsync(
            new Dictionary<string, S.ModelSettings> { ["drop"] = SimModel(1000, 100, seed: 3) },
            Common + "\nactor-throttle.defaults { requests-per-second = 1000, max-burst = 50 }",
            output);
        var ids = run.Send("drop", 2000, "d");
        // Let the first part of the batch run at the full limit, then the provider halves it.
        while (run.Replies.Count < 600)
        {
            await Task.Delay(10);
        }
        run.Sim.UpdateModelSettings("drop", s => s with { RequestsPerSecond = 500, RequestsPerSecondBurst = 50 });
        var dropAt = run.SimSecondsNow();
        var answeredAtDrop = run.Replies.Count;
        var lowestBurst = int.MaxValue;
        var lowestRate = double.MaxValue;
        using var polling = new CancellationTokenSource();
        var poll = Task.Run(async () =>
        {
            while (!polling.IsCancellationRequested)
            {
                var s = await run.Engine.GetStatusAsync("drop");
                lowestBurst = Math.Min(lowestBurst, s.Burst);
                lowestRate = Math.Min(lowestRate, s.Rate);
                await Task.Delay(20);
            }
        });
        await run.AwaitAnsweredAsync(ids);
        await polling.CancelAsync();
        await poll;
        var status = await run.Engine.GetStatusAsync("drop");
        run.Dump("drop");
        output.WriteLine($"dropped at {dropAt:0.00} s with {answeredAtDrop} answered; final burst {status.Burst}, rate {status.Rate:0.#}");

        var replies = run.AssertAnsweredExactlyOnce(ids);
        Assert.All(replies.Values, r => Assert.IsType<ChatSuccess>(r));
        var totals = run.Sim.GetStats().For("drop").Totals;
        Assert.Equal(2000, totals.Accepted);
        Assert.Equal(2000, run.EngineSuccesses("drop"));
        Assert.Equal(totals.Accepted + totals.RateLimited, replies.Values.Sum(r => (long)r.Attempts));
        output.WriteLine($"lowest burst seen after the drop {lowestBurst}, lowest rate {lowestRate:0.#}");
        Assert.True(lowestBurst < 50, $"the burst never came down after the drop (lowest {lowestBurst})");

        // After the drop: 429s in the first half of the rest of the run, then they die down.
        var mid = run.LaterHalfStart("drop", from: (long)Math.Floor(dropAt));
        var afterDrop = run.SecondsBetween("drop", (long)Math.Floor(dropAt), mid);
        var late = run.SecondsBetween("drop", mid, long.MaxValue);
        output.WriteLine($"after the drop (s < {mid}): accepted {afterDrop.Accepted}, 429 {afterDrop.RateLimited}; late: accepted {late.Accepted}, 429 {late.RateLimited}");
        // The rate-limit headers (remaining 0 pauses the model until the reset) keep 429s rare after the drop;
        // AIMD alone does not bring the rate down here (see the report), so the bound is a fraction, not zero.
        Assert.True(late.RateLimited <= Math.Max(10, late.Accepted / 10), $"late 429s {late.RateLimited} for {late.Accepted} accepted");
    }

    [Fact]
    public async Task Insufficient_quota_is_answered_Permanent_at_once_without_retries()
    {
        await using var run = await SimulatorRun.StartAsync(
            new Dictionary<string, S.ModelSettings> { ["broke"] = SimModel(1000, 1000, seed: 4) with { InsufficientQuota = true } },
            Common + "\nactor-throttle.defaults { requests-per-second = 1000, max-burst = 50 }",
            output);
        var ids = run.Send("broke", 100, "q");
        await run.AwaitAnsweredAsync(ids);

        var replies = run.AssertAnsweredExactlyOnce(ids);
        Assert.All(replies.Values, r =>
        {
            var failure = Assert.IsType<ChatFailure>(r);
            Assert.Equal(FailureReason.Permanent, failure.Reason);
            Assert.Equal("insufficient_quota", failure.ProviderCode);
            Assert.Equal(429, failure.StatusCode);
            Assert.Equal(1, failure.Attempts);
        });
        var totals = run.Sim.GetStats().For("broke").Totals;
        Assert.Equal(100, totals.QuotaExceeded);
        Assert.Equal(0, totals.Accepted);
        Assert.Equal(0, totals.RateLimited);
        Assert.Equal(0, run.EngineRateLimited("broke"));
        Assert.Equal(0, run.EngineSuccesses("broke"));
        // Billing is not rate: AIMD left the throttle alone.
        var status = await run.Engine.GetStatusAsync("broke");
        Assert.Equal(50, status.Burst);
        Assert.Equal(1000, status.Rate, 6);
    }

    [Fact]
    public async Task Injected_503s_are_retried_and_every_request_succeeds_within_max_attempts()
    {
        await using var run = await SimulatorRun.StartAsync(
            new Dictionary<string, S.ModelSettings> { ["flaky"] = SimModel(1000, 1000, seed: 5) with { Error503Rate = 0.15 } },
            Common + "\nactor-throttle.defaults { requests-per-second = 1000, max-burst = 50, retry.max-attempts = 8 }",
            output);
        var ids = run.Send("flaky", 1000, "f");
        await run.AwaitAnsweredAsync(ids);

        var replies = run.AssertAnsweredExactlyOnce(ids);
        Assert.All(replies.Values, r => Assert.IsType<ChatSuccess>(r));
        Assert.All(replies.Values, r => Assert.InRange(r.Attempts, 1, 8));
        var totals = run.Sim.GetStats().For("flaky").Totals;
        var retries = replies.Values.Sum(r => (long)(r.Attempts - 1));
        output.WriteLine($"503s {totals.ServerErrors}, retries {retries}, max attempts {replies.Values.Max(r => r.Attempts)}, 429s {totals.RateLimited}");
        Assert.True(totals.ServerErrors > 0, "the seeded 15% of 503s must have shown");
        Assert.Equal(0, totals.RateLimited);
        Assert.Equal(totals.ServerErrors, retries);
        Assert.Equal(1000, totals.Accepted);
        Assert.Equal(1000, run.EngineSuccesses("flaky"));
    }

    [Fact]
    public async Task A_saturated_model_does_not_hurt_a_healthy_one()
    {
        await using var run = await SimulatorRun.StartAsync(
            new Dictionary<string, S.ModelSettings>
            {
                ["hot"] = SimModel(300, 30, seed: 6),
                ["calm"] = SimModel(1000, 200, seed: 7),
            },
            Common + """

            actor-throttle.models {
              hot { requests-per-second = 900, max-burst = 50 }
              calm { requests-per-second = 500, max-burst = 50 }
            }
            """,
            output);
        var hot = run.Send("hot", 900, "hot");
        var calm = run.Send("calm", 1000, "calm");
        await run.AwaitAnsweredAsync(calm);
        var hotPendingWhenCalmDone = (await run.Engine.GetStatusAsync("hot")).Pending;
        await run.AwaitAnsweredAsync(hot);
        run.Dump("hot");
        run.Dump("calm");
        var calmStatus = await run.Engine.GetStatusAsync("calm");
        var hotStatus = await run.Engine.GetStatusAsync("hot");
        output.WriteLine($"hot pending when calm finished: {hotPendingWhenCalmDone}; hot final burst {hotStatus.Burst} rate {hotStatus.Rate:0.#}; calm burst {calmStatus.Burst} rate {calmStatus.Rate:0.#}");

        var calmReplies = run.AssertAnsweredExactlyOnce(calm);
        Assert.All(calmReplies.Values, r => Assert.Equal(1, Assert.IsType<ChatSuccess>(r).Attempts));
        var calmTotals = run.Sim.GetStats().For("calm").Totals;
        Assert.Equal(0, calmTotals.RateLimited);
        Assert.Equal(1000, calmTotals.Accepted);
        Assert.Equal(1000, run.EngineSuccesses("calm"));
        Assert.Equal(0, run.EngineRateLimited("calm"));
        // The healthy model's throttle was never touched by the other's 429s.
        Assert.Equal(50, calmStatus.Burst);
        Assert.Equal(500, calmStatus.Rate, 6);

        var hotReplies = run.AssertAnsweredExactlyOnce(hot);
        var hotTotals = run.Sim.GetStats().For("hot").Totals;
        Assert.True(hotTotals.RateLimited > 0, "the saturated model must have met 429s");
        Assert.Equal(hotTotals.Accepted, hotReplies.Values.Count(r => r is ChatSuccess));
        Assert.Equal(hotTotals.Accepted, run.EngineSuccesses("hot"));
        Assert.Equal(hotTotals.Accepted + hotTotals.RateLimited, hotReplies.Values.Sum(r => (long)r.Attempts));
        Assert.True(hotStatus.Burst < 50 || hotStatus.Rate < 900, "the saturated model's throttle must have come down");
    }
}
