using Microsoft.Extensions.Time.Testing;

namespace ActorThrottle.Simulator.Tests;

public sealed class ModelLimiterTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void No_limits_admit_everything_and_report_no_headers()
    {
        var limiter = new ModelLimiter(new ModelSettings(), _time);
        for (var i = 0; i < 1000; i++)
        {
            Assert.True(limiter.TryAdmit(5000).Admitted);
        }

        var state = limiter.State();
        Assert.False(state.HasRequests);
        Assert.False(state.HasTokens);
    }

    [Fact]
    public void Requests_per_second_admit_the_burst_then_reject_with_retry_after()
    {
        var limiter = new ModelLimiter(new ModelSettings { RequestsPerSecond = 10, RequestsPerSecondBurst = 3 }, _time);
        for (var i = 0; i < 3; i++)
        {
            Assert.True(limiter.TryAdmit(0).Admitted);
        }

        var rejected = limiter.TryAdmit(0);
        Assert.False(rejected.Admitted);
        Assert.Equal(LimitKind.Requests, rejected.RejectedBy);
        Assert.Equal(TimeSpan.FromMilliseconds(100), rejected.RetryAfter);
        Assert.Equal(0, rejected.TokensCharged);

        _time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.True(limiter.TryAdmit(0).Admitted);
    }

    [Fact]
    public void Requests_per_minute_refill_per_second_share()
    {
        var limiter = new ModelLimiter(new ModelSettings { RequestsPerMinute = 60, RequestsPerMinuteBurst = 2 }, _time);
        Assert.True(limiter.TryAdmit(0).Admitted);
        Assert.True(limiter.TryAdmit(0).Admitted);
        var rejected = limiter.TryAdmit(0);
        Assert.Equal(TimeSpan.FromSeconds(1), rejected.RetryAfter);
        Assert.Equal("requests per min (RPM)", rejected.LimitName);
        var state = limiter.State();
        Assert.Equal(60, state.RequestLimit);
        Assert.Equal(0, state.RequestsRemaining);
        Assert.Equal(TimeSpan.FromSeconds(2), state.RequestsReset);
    }

    [Fact]
    public void Default_burst_is_one_period_of_the_limit()
    {
        var limiter = new ModelLimiter(new ModelSettings { RequestsPerMinute = 5 }, _time);
        for (var i = 0; i < 5; i++)
        {
            Assert.True(limiter.TryAdmit(0).Admitted);
        }

        Assert.False(limiter.TryAdmit(0).Admitted);
    }

    [Fact]
    public void Tokens_reject_when_the_cost_exceeds_what_is_left()
    {
        var limiter = new ModelLimiter(new ModelSettings { TokensPerMinute = 6000, TokensBurst = 1000 }, _time);
        Assert.True(limiter.TryAdmit(800).Admitted);
        var rejected = limiter.TryAdmit(400);
        Assert.False(rejected.Admitted);
        Assert.Equal(LimitKind.Tokens, rejected.RejectedBy);

        // 200 missing at 100 tokens/s.
        Assert.Equal(TimeSpan.FromSeconds(2), rejected.RetryAfter);
        Assert.Equal(200, limiter.State().TokensRemaining);
    }

    [Fact]
    public void A_request_larger_than_the_token_burst_is_too_large_and_not_charged()
    {
        var limiter = new ModelLimiter(new ModelSettings { TokensPerMinute = 600, ChargeRejected = true }, _time);
        var rejected = limiter.TryAdmit(601);
        Assert.True(rejected.TooLarge);
        Assert.Equal(LimitKind.Tokens, rejected.RejectedBy);
        Assert.Equal(0, rejected.TokensCharged);
        Assert.Equal(600, limiter.State().TokensRemaining);
    }

    [Fact]
    public void Rejected_requests_are_free_by_default()
    {
        var limiter = new ModelLimiter(new ModelSettings { RequestsPerSecond = 1, TokensPerMinute = 6000 }, _time);
        Assert.True(limiter.TryAdmit(100).Admitted);
        for (var i = 0; i < 5; i++)
        {
            Assert.False(limiter.TryAdmit(100).Admitted);
        }

        Assert.Equal(5900, limiter.State().TokensRemaining);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(limiter.TryAdmit(100).Admitted);
    }

    [Fact]
    public void Charging_rejected_requests_pushes_the_next_admission_back()
    {
        var limiter = new ModelLimiter(new ModelSettings { RequestsPerSecond = 1, ChargeRejected = true }, _time);
        Assert.True(limiter.TryAdmit(10).Admitted);
        var first = limiter.TryAdmit(10);
        Assert.False(first.Admitted);
        Assert.Equal(10, first.TokensCharged);
        Assert.Equal(TimeSpan.FromSeconds(2), first.RetryAfter);

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(limiter.TryAdmit(10).Admitted);
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.True(limiter.TryAdmit(10).Admitted);
    }

    [Fact]
    public void Retry_after_is_the_longest_wait_of_all_buckets()
    {
        var limiter = new ModelLimiter(
            new ModelSettings { RequestsPerSecond = 10, RequestsPerSecondBurst = 1, TokensPerMinute = 600, ChargeRejected = true }, _time);
        Assert.True(limiter.TryAdmit(500).Admitted);
        var rejected = limiter.TryAdmit(300);

        // Requests reject first, but after the charge tokens stand at -200 and need (300 + 200) / 10 per s = 50 s.
        Assert.Equal(LimitKind.Requests, rejected.RejectedBy);
        Assert.Equal(TimeSpan.FromSeconds(50), rejected.RetryAfter);
    }

    [Fact]
    public void Reserve_keeps_the_charge_and_reconcile_refunds()
    {
        var settings = new ModelSettings { TokensPerMinute = 6000 };
        var reserve = new ModelLimiter(settings, _time);
        Assert.True(reserve.TryAdmit(1000).Admitted);
        Assert.Equal(5000, reserve.State().TokensRemaining);

        var reconcile = new ModelLimiter(settings with { TokenAccounting = TokenAccounting.Reconcile }, _time);
        Assert.True(reconcile.TryAdmit(1000).Admitted);
        reconcile.Refund(900);
        Assert.Equal(5900, reconcile.State().TokensRemaining);
    }

    [Fact]
    public void Headers_report_the_tighter_request_bucket()
    {
        var limiter = new ModelLimiter(new ModelSettings { RequestsPerSecond = 2, RequestsPerMinute = 100 }, _time);
        Assert.Equal(2, limiter.State().RequestLimit);
        Assert.Equal(2, limiter.State().RequestsRemaining);
        Assert.Equal(100, new ModelLimiter(new ModelSettings { RequestsPerSecond = 200, RequestsPerMinute = 100 }, _time).State().RequestLimit);
        limiter.TryAdmit(0);
        limiter.TryAdmit(0);
        var state = limiter.State();
        Assert.Equal(2, state.RequestLimit);
        Assert.Equal(0, state.RequestsRemaining);
        Assert.Equal(TimeSpan.FromSeconds(1), state.RequestsReset);
    }

    [Fact]
    public void Lowering_a_limit_while_running_takes_effect_at_once()
    {
        var settings = new ModelSettings { RequestsPerSecond = 100 };
        var limiter = new ModelLimiter(settings, _time);
        for (var i = 0; i < 50; i++)
        {
            Assert.True(limiter.TryAdmit(0).Admitted);
        }

        limiter.Reconfigure(settings with { RequestsPerSecond = 5 });
        for (var i = 0; i < 5; i++)
        {
            Assert.True(limiter.TryAdmit(0).Admitted);
        }

        var rejected = limiter.TryAdmit(0);
        Assert.False(rejected.Admitted);
        Assert.Equal(TimeSpan.FromMilliseconds(200), rejected.RetryAfter);

        limiter.Reconfigure(settings with { RequestsPerSecond = 0 });
        Assert.True(limiter.TryAdmit(0).Admitted);
    }
}
