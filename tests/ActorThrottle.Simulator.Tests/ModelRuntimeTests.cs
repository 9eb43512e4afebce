using Microsoft.Extensions.Time.Testing;

namespace ActorThrottle.Simulator.Tests;

public sealed class ModelRuntimeTests
{
    private readonly FakeTimeProvider _time = new();

    private ModelRuntime Runtime(ModelSettings settings, int history = 1000) =>
        new("m", settings, _time, _time.GetTimestamp(), history);

    [Fact]
    public void Faults_repeat_for_a_seed_and_follow_their_rates()
    {
        var settings = new ModelSettings { Error500Rate = 0.1, Error502Rate = 0.05, Error503Rate = 0.05, ResetRate = 0.1, HangRate = 0.1, Seed = 42 };
        var a = Runtime(settings);
        var b = Runtime(settings);
        var outcomes = new Dictionary<Outcome, int>();
        for (var i = 0; i < 2000; i++)
        {
            var x = a.Decide(10, 10);
            Assert.Equal(x.Outcome, b.Decide(10, 10).Outcome);
            outcomes[x.Outcome] = outcomes.GetValueOrDefault(x.Outcome) + 1;
        }

        Assert.InRange(outcomes[Outcome.Success], 1200 - 100, 1200 + 100);
        Assert.InRange(outcomes[Outcome.Error500], 200 - 50, 200 + 50);
        Assert.InRange(outcomes[Outcome.Reset], 200 - 50, 200 + 50);
        Assert.InRange(outcomes[Outcome.Hang], 200 - 50, 200 + 50);
        var totals = a.Snapshot(DateTimeOffset.UnixEpoch).Totals;
        Assert.Equal(outcomes[Outcome.Success], totals.Accepted);
        Assert.Equal(outcomes[Outcome.Error500] + outcomes[Outcome.Error502] + outcomes[Outcome.Error503], totals.ServerErrors);
        Assert.Equal(outcomes[Outcome.Reset], totals.Resets);
        Assert.Equal(outcomes[Outcome.Hang], totals.Hangs);
    }

    [Fact]
    public void A_different_seed_gives_a_different_sequence()
    {
        var a = Runtime(new ModelSettings { Error500Rate = 0.5, Seed = 1 });
        var b = Runtime(new ModelSettings { Error500Rate = 0.5, Seed = 2 });
        var same = Enumerable.Range(0, 64).Count(_ => a.Decide(1, 1).Outcome == b.Decide(1, 1).Outcome);
        Assert.NotEqual(64, same);
    }

    [Fact]
    public void Latency_is_fixed_plus_seeded_jitter()
    {
        var settings = new ModelSettings { Latency = TimeSpan.FromMilliseconds(50), LatencyJitter = TimeSpan.FromMilliseconds(20), Seed = 3 };
        var a = Runtime(settings);
        var b = Runtime(settings);
        for (var i = 0; i < 100; i++)
        {
            var latency = a.Decide(1, 1).Latency;
            Assert.InRange(latency, TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(70));
            Assert.Equal(latency, b.Decide(1, 1).Latency);
        }
    }

    [Fact]
    public void Completion_tokens_are_capped_at_max_tokens_and_default_max_tokens_apply()
    {
        var runtime = Runtime(new ModelSettings { CompletionTokens = 50, DefaultMaxTokens = 200 });
        Assert.Equal(50, runtime.Decide(10, null).CompletionTokens);
        Assert.Equal(200, runtime.Decide(10, null).MaxTokens);
        Assert.Equal(7, runtime.Decide(10, 7).CompletionTokens);
    }

    [Fact]
    public void Reserve_charges_prompt_plus_max_tokens()
    {
        var runtime = Runtime(new ModelSettings { TokensPerMinute = 60_000, CompletionTokens = 10 });
        var decision = runtime.Decide(30, 100);
        Assert.Equal(0, decision.Refund);
        Assert.Equal(130, runtime.Snapshot(DateTimeOffset.UnixEpoch).Totals.TokensCharged);
        Assert.Equal(60_000 - 130, runtime.State().TokensRemaining);
    }

    [Fact]
    public void Reconcile_refunds_unused_completion_tokens()
    {
        var runtime = Runtime(new ModelSettings { TokensPerMinute = 60_000, CompletionTokens = 10, TokenAccounting = TokenAccounting.Reconcile });
        var decision = runtime.Decide(30, 100);
        Assert.Equal(90, decision.Refund);
        Assert.Equal(40, runtime.Snapshot(DateTimeOffset.UnixEpoch).Totals.TokensCharged);

        // The bucket holds the full charge until the reply is done.
        Assert.Equal(60_000 - 130, runtime.State().TokensRemaining);
        runtime.Refund(decision.Refund);
        Assert.Equal(60_000 - 40, runtime.State().TokensRemaining);
    }

    [Fact]
    public void Insufficient_quota_is_counted_apart_and_not_charged()
    {
        var runtime = Runtime(new ModelSettings { InsufficientQuota = true, TokensPerMinute = 1000 });
        Assert.Equal(Outcome.QuotaExceeded, runtime.Decide(10, 10).Outcome);
        var totals = runtime.Snapshot(DateTimeOffset.UnixEpoch).Totals;
        Assert.Equal(1, totals.QuotaExceeded);
        Assert.Equal(0, totals.RateLimited);
        Assert.Equal(1, totals.Rejected429);
        Assert.Equal(0, totals.TokensCharged);
    }

    [Fact]
    public void Statistics_are_kept_per_second_since_the_epoch()
    {
        var epoch = new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var runtime = Runtime(new ModelSettings { RequestsPerSecond = 2 });
        for (var i = 0; i < 3; i++)
        {
            runtime.Decide(1, 1);
        }

        _time.Advance(TimeSpan.FromSeconds(2.5));
        runtime.Decide(1, 1);
        var stats = runtime.Snapshot(epoch);
        Assert.Equal(2, stats.PerSecond.Count);
        Assert.Equal(0, stats.PerSecond[0].Second);
        Assert.Equal(epoch.ToUnixTimeSeconds(), stats.PerSecond[0].UnixSecond);
        Assert.Equal(2, stats.PerSecond[0].Counters.Accepted);
        Assert.Equal(1, stats.PerSecond[0].Counters.RateLimited);
        Assert.Equal(2, stats.PerSecond[1].Second);
        Assert.Equal(1, stats.PerSecond[1].Counters.Accepted);
        Assert.Equal(3, stats.Totals.Accepted);

        runtime.ResetStats();
        Assert.Equal(0, runtime.Snapshot(epoch).Totals.Accepted);
        Assert.Empty(runtime.Snapshot(epoch).PerSecond);
    }

    [Fact]
    public void Sliding_window_maximum_counts_accepted_only()
    {
        var runtime = Runtime(new ModelSettings { RequestsPerSecond = 10, RequestsPerSecondBurst = 5 });
        for (var step = 0; step < 40; step++)
        {
            runtime.Decide(1, 1);
            runtime.Decide(1, 1);
            _time.Advance(TimeSpan.FromMilliseconds(50));
        }

        // 2 s at 10/s plus the burst of 5 bounds every 1 s window by 10 + 5.
        var max = runtime.MaxAcceptedInWindow(TimeSpan.FromSeconds(1));
        Assert.InRange(max, 10, 15);
        Assert.Equal(runtime.Snapshot(DateTimeOffset.UnixEpoch).Totals.Accepted, runtime.MaxAcceptedInWindow(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void A_stream_break_falls_after_one_to_all_content_chunks_and_is_counted_apart()
    {
        var runtime = Runtime(new ModelSettings { CompletionTokens = 6, StreamChunkTokens = 2, StreamBreakRate = 1, Seed = 4 });
        var positions = new HashSet<int>();
        for (var i = 0; i < 200; i++)
        {
            var decision = runtime.Decide(1, 100, stream: true);
            Assert.Equal(Outcome.StreamBreak, decision.Outcome);
            Assert.InRange(decision.BreakAfterChunks, 1, 3);
            positions.Add(decision.BreakAfterChunks);
        }

        Assert.Equal([1, 2, 3], positions.Order());
        var totals = runtime.Snapshot(DateTimeOffset.UnixEpoch).Totals;
        Assert.Equal(200, totals.StreamBreaks);
        Assert.Equal(0, totals.Accepted);
        Assert.Equal(0, totals.Streamed);
        Assert.Equal(0, runtime.MaxAcceptedInWindow(TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void Streams_count_as_accepted_and_streamed_and_plain_requests_never_break()
    {
        var runtime = Runtime(new ModelSettings { StreamBreakRate = 1 });
        Assert.Equal(Outcome.Success, runtime.Decide(1, 100).Outcome);
        runtime.Update(new ModelSettings());
        var decision = runtime.Decide(1, 100, stream: true);
        Assert.Equal(Outcome.Success, decision.Outcome);
        Assert.True(decision.Stream);
        Assert.Equal(0, decision.BreakAfterChunks);
        var totals = runtime.Snapshot(DateTimeOffset.UnixEpoch).Totals;
        Assert.Equal(2, totals.Accepted);
        Assert.Equal(1, totals.Streamed);
        Assert.Equal(2, runtime.MaxAcceptedInWindow(TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void An_empty_completion_cannot_break()
    {
        var runtime = Runtime(new ModelSettings { CompletionTokens = 0, StreamBreakRate = 1 });
        Assert.Equal(Outcome.Success, runtime.Decide(1, 100, stream: true).Outcome);
    }

    [Fact]
    public void The_stream_break_rate_does_not_shift_the_fault_sequence()
    {
        var a = Runtime(new ModelSettings { Error500Rate = 0.3, Seed = 8 });
        var b = Runtime(new ModelSettings { Error500Rate = 0.3, StreamBreakRate = 0.7, Seed = 8 });
        for (var i = 0; i < 100; i++)
        {
            var x = a.Decide(1, 100, stream: true).Outcome;
            var y = b.Decide(1, 100, stream: true).Outcome;
            Assert.Equal(x == Outcome.Error500, y == Outcome.Error500);
        }
    }

    [Fact]
    public void Finish_reason_is_length_when_max_tokens_cut_the_completion()
    {
        var runtime = Runtime(new ModelSettings { CompletionTokens = 10 });
        Assert.Equal("stop", runtime.Decide(1, 11).FinishReason);
        Assert.Equal("length", runtime.Decide(1, 10).FinishReason);
    }

    [Fact]
    public void Changing_the_seed_restarts_the_sequence()
    {
        var settings = new ModelSettings { Error500Rate = 0.5, Seed = 9 };
        var a = Runtime(settings);
        var first = Enumerable.Range(0, 20).Select(_ => a.Decide(1, 1).Outcome).ToList();
        a.Update(settings with { Seed = 10 });
        a.Update(settings);
        Assert.Equal(first, Enumerable.Range(0, 20).Select(_ => a.Decide(1, 1).Outcome).ToList());
    }
}
