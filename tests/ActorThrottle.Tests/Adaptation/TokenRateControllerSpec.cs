using ActorThrottle.Adaptation;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace ActorThrottle.Tests.Adaptation;

public sealed class TokenRateControllerSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly TokenRateLimits Limits = new(
        MaxTokensPerMinute: 600_000, MinTokensPerMinute: 6_000, DecreaseFactor: 0.5, IncreaseStep: 1,
        IncreaseAfter: 3, CoolDown: TimeSpan.FromSeconds(1), SettleFraction: 0.97);

    /// <summary>Successes sent <paramref name="perSecond"/> a second, each costing <paramref name="cost"/>; returns the last instant.</summary>
    private static DateTimeOffset AcceptAt(TokenRateController tokens, DateTimeOffset start, double perSecond, long cost, int count)
    {
        var t = start;
        for (var i = 0; i < count; i++)
        {
            t += TimeSpan.FromSeconds(1 / perSecond);
            tokens.OnSuccess(t, t, cost);
        }
        return t;
    }

    [Fact]
    public void It_starts_at_the_configured_budget()
    {
        Assert.Equal(600_000, new TokenRateController(Limits).TokensPerMinute);
    }

    [Fact]
    public void A_token_429_settles_just_under_the_tokens_the_provider_was_seen_accepting()
    {
        var tokens = new TokenRateController(Limits);
        // 40 requests/s × 100 tokens = 4,000 tokens/s = 240,000 tokens/min.
        var t = AcceptAt(tokens, T0, perSecond: 40, cost: 100, count: 64);
        Assert.Equal(240_000, tokens.AcceptedTokensPerMinute(t)!.Value, 3);
        Assert.True(tokens.OnRateLimited(t));
        Assert.Equal(600_000 * 0.5, tokens.TokensPerMinute, 3); // never more than the decrease factor in one step
        Assert.True(tokens.OnRateLimited(t + TimeSpan.FromSeconds(1)));
        Assert.Equal(240_000 * 0.97, tokens.TokensPerMinute, 3);
    }

    [Fact]
    public void Without_an_estimate_a_token_429_halves_the_rate_once_per_cool_down_down_to_the_floor()
    {
        var tokens = new TokenRateController(Limits);
        Assert.True(tokens.OnRateLimited(T0));
        Assert.Equal(300_000, tokens.TokensPerMinute);
        Assert.False(tokens.OnRateLimited(T0 + TimeSpan.FromMilliseconds(999)));
        var t = T0;
        for (var i = 0; i < 20; i++)
        {
            tokens.OnRateLimited(t += TimeSpan.FromSeconds(1));
        }
        Assert.Equal(6_000, tokens.TokensPerMinute);
    }

    [Fact]
    public void An_overload_halves_whatever_the_cool_down_and_the_estimate()
    {
        var tokens = new TokenRateController(Limits);
        var t = AcceptAt(tokens, T0, perSecond: 80, cost: 100, count: 64);
        Assert.True(tokens.OnRateLimited(t));
        Assert.Equal(480_000 * 0.97, tokens.TokensPerMinute, 3);
        // Within the cool-down of that step: half of the rate before it.
        Assert.True(tokens.OnOverload(t + TimeSpan.FromMilliseconds(1)));
        Assert.Equal(300_000, tokens.TokensPerMinute, 3);
        Assert.Null(tokens.AcceptedTokensPerMinute(t)); // starts afresh
        for (var i = 0; i < 20; i++)
        {
            tokens.OnSuccess(t + TimeSpan.FromSeconds(1), t, 100); // sent before the overload: not counted
        }
        Assert.Null(tokens.AcceptedTokensPerMinute(t + TimeSpan.FromSeconds(1)));
        // Later: half of where it is.
        Assert.True(tokens.OnOverload(t + TimeSpan.FromSeconds(5)));
        Assert.Equal(150_000, tokens.TokensPerMinute, 3);
    }

    [Fact]
    public void An_overload_cuts_from_the_rate_its_rejected_attempts_were_sent_at()
    {
        var tokens = new TokenRateController(Limits);
        tokens.OnRateLimited(T0);                          // 600k → 300k
        tokens.OnRateLimited(T0 + TimeSpan.FromSeconds(2)); // → 150k
        // Sent from 1 s on, at 300k (before the step at 2 s): half of that is where the step already is.
        Assert.False(tokens.OnOverload(T0 + TimeSpan.FromSeconds(2.5), evidenceSince: T0 + TimeSpan.FromSeconds(1)));
        Assert.Equal(150_000, tokens.TokensPerMinute);
        // New evidence, sent after every step: from the rate now.
        Assert.True(tokens.OnOverload(T0 + TimeSpan.FromSeconds(9), evidenceSince: T0 + TimeSpan.FromSeconds(8)));
        Assert.Equal(75_000, tokens.TokensPerMinute);
    }

    [Fact]
    public void Successes_grow_the_rate_back_by_a_request_per_second_of_the_mean_cost()
    {
        var tokens = new TokenRateController(Limits with { CoolDown = TimeSpan.Zero });
        tokens.OnRateLimited(T0);
        Assert.Equal(300_000, tokens.TokensPerMinute);
        var t = T0 + TimeSpan.FromSeconds(1);
        Assert.False(tokens.OnSuccess(t, t, 200));
        Assert.False(tokens.OnSuccess(t, t, 200));
        Assert.True(tokens.OnSuccess(t, t, 200));
        // increase-step 1 request/s × 60 s × 200 tokens.
        Assert.Equal(312_000, tokens.TokensPerMinute, 3);
    }

    [Fact]
    public void Growth_is_held_back_for_a_cool_down_after_a_429_and_stops_at_the_budget()
    {
        var tokens = new TokenRateController(Limits with { MaxTokensPerMinute = 305_000, MinTokensPerMinute = 1 });
        tokens.OnRateLimited(T0);
        Assert.Equal(152_500, tokens.TokensPerMinute);
        // A second 429 within the cool-down changes nothing but holds growth back until T0 + 1.5 s.
        Assert.False(tokens.OnRateLimited(T0 + TimeSpan.FromSeconds(0.5)));
        var held = T0 + TimeSpan.FromSeconds(1.2);
        for (var i = 0; i < 10; i++)
        {
            Assert.False(tokens.OnSuccess(held, held, 1000));
        }
        var t = T0 + TimeSpan.FromSeconds(3);
        for (var i = 0; i < 300; i++)
        {
            tokens.OnSuccess(t, t, 1000);
        }
        Assert.Equal(305_000, tokens.TokensPerMinute);
    }

    [Fact]
    public void Above_the_learned_rate_growth_probes_five_times_slower()
    {
        var tokens = new TokenRateController(Limits with { CoolDown = TimeSpan.Zero });
        var t = AcceptAt(tokens, T0, perSecond: 60, cost: 100, count: 64);
        tokens.OnRateLimited(t);
        var learned = tokens.TokensPerMinute;
        Assert.InRange(learned, 360_000 * 0.97 - 10, 360_000 * 0.97 + 10);
        t += TimeSpan.FromSeconds(1);
        for (var i = 0; i < 14; i++)
        {
            Assert.False(tokens.OnSuccess(t, t, 100));
        }
        Assert.True(tokens.OnSuccess(t, t, 100));
    }

    [Fact]
    public void The_limits_come_from_the_settings_and_there_are_none_without_a_token_budget()
    {
        var defaults = Support.TestConfig.Settings().Defaults;
        Assert.Null(TokenRateLimits.From(defaults with { TokensPerMinute = 0 }));
        var limits = TokenRateLimits.From(defaults with { TokensPerMinute = 600_000, RequestsPerSecond = 100, MinRate = 0.5 })!;
        Assert.Equal(600_000, limits.MaxTokensPerMinute);
        Assert.Equal(3_000, limits.MinTokensPerMinute); // as far below the budget as min-rate is below the rate
        Assert.Equal(defaults.Adapt.CoolDown, limits.CoolDown);
        Assert.Equal(1, TokenRateLimits.From(defaults with { TokensPerMinute = 10, RequestsPerSecond = 1000, MinRate = 0.1 })!.MinTokensPerMinute);
    }

    [Property]
    public Property The_rate_always_stays_within_the_limits(int[] events, PositiveInt stepMs)
    {
        var tokens = new TokenRateController(Limits);
        var t = T0;
        foreach (var e in events)
        {
            t += TimeSpan.FromMilliseconds(stepMs.Get % 1500);
            switch (Math.Abs(e % 3))
            {
                case 0:
                    tokens.OnRateLimited(t);
                    break;
                case 1:
                    tokens.OnOverload(t);
                    break;
                default:
                    tokens.OnSuccess(t, t, Math.Abs(e % 5000));
                    break;
            }
            if (tokens.TokensPerMinute < Limits.MinTokensPerMinute - 1e-9 || tokens.TokensPerMinute > Limits.MaxTokensPerMinute + 1e-9)
            {
                return false.Label($"left the limits: {tokens.TokensPerMinute}");
            }
        }
        return true.ToProperty();
    }
}
