using ActorThrottle.Adaptation;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace ActorThrottle.Tests.Adaptation;

public sealed class AimdControllerSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly AimdLimits Limits = new(
        MaxBurst: 16, MinBurst: 1, MaxRate: 10, MinRate: 0.5,
        DecreaseFactor: 0.5, IncreaseStep: 1, IncreaseAfter: 3, CoolDown: TimeSpan.FromSeconds(1));

    [Fact]
    public void It_starts_at_the_configured_burst_and_rate()
    {
        Assert.Equal(new AimdState(16, 10), new AimdController(Limits).State);
    }

    [Fact]
    public void A_429_halves_the_burst_first()
    {
        var aimd = new AimdController(Limits);
        Assert.True(aimd.OnRateLimited(T0));
        Assert.Equal(new AimdState(8, 10), aimd.State);
    }

    [Fact]
    public void Many_429s_within_one_cool_down_count_once()
    {
        var aimd = new AimdController(Limits);
        aimd.OnRateLimited(T0);
        for (var i = 1; i < 50; i++)
        {
            Assert.False(aimd.OnRateLimited(T0 + TimeSpan.FromMilliseconds(i * 10)));
        }
        Assert.Equal(8, aimd.State.Burst);
        Assert.True(aimd.OnRateLimited(T0 + TimeSpan.FromSeconds(1)));
        Assert.Equal(4, aimd.State.Burst);
    }

    [Fact]
    public void Once_the_burst_is_at_its_floor_the_rate_shrinks_down_to_min_rate()
    {
        var aimd = new AimdController(Limits);
        var t = T0;
        for (var i = 0; i < 4; i++, t += Limits.CoolDown)
        {
            aimd.OnRateLimited(t);
        }
        Assert.Equal(new AimdState(1, 10), aimd.State);
        aimd.OnRateLimited(t);
        Assert.Equal(new AimdState(1, 5), aimd.State);
        for (var i = 0; i < 10; i++)
        {
            t += Limits.CoolDown;
            aimd.OnRateLimited(t);
        }
        Assert.Equal(new AimdState(1, 0.5), aimd.State);
        Assert.False(aimd.OnRateLimited(t + Limits.CoolDown));
    }

    [Fact]
    public void A_run_of_successes_grows_the_rate_back_first_then_the_burst()
    {
        var aimd = new AimdController(Limits, new AimdState(1, 8));
        Assert.False(aimd.OnSuccess());
        Assert.False(aimd.OnSuccess());
        Assert.True(aimd.OnSuccess());
        Assert.Equal(new AimdState(1, 9), aimd.State);
        Succeed(aimd, 3);
        Assert.Equal(new AimdState(1, 10), aimd.State);
        Succeed(aimd, 3);
        Assert.Equal(new AimdState(2, 10), aimd.State);
        Succeed(aimd, 3 * 40);
        Assert.Equal(new AimdState(16, 10), aimd.State);
        Assert.False(aimd.OnSuccess());
    }

    [Fact]
    public void A_429_restarts_the_run_of_successes()
    {
        var aimd = new AimdController(Limits);
        aimd.OnRateLimited(T0);
        aimd.OnSuccess();
        aimd.OnSuccess();
        aimd.OnRateLimited(T0 + TimeSpan.FromMilliseconds(10)); // inside the cool-down: no decrease, but the run resets
        Assert.False(aimd.OnSuccess());
        Assert.False(aimd.OnSuccess());
        Assert.True(aimd.OnSuccess());
    }

    [Fact]
    public void A_start_state_outside_the_limits_is_clamped()
    {
        Assert.Equal(new AimdState(16, 0.5), new AimdController(Limits, new AimdState(100, 0.01)).State);
    }

    private static void Succeed(AimdController aimd, int times)
    {
        for (var i = 0; i < times; i++)
        {
            aimd.OnSuccess();
        }
    }

    [Property]
    public Property The_state_always_stays_within_the_limits(bool[] events, PositiveInt stepMs)
    {
        var aimd = new AimdController(Limits);
        var t = T0;
        foreach (var rateLimited in events)
        {
            t += TimeSpan.FromMilliseconds(stepMs.Get % 3000);
            if (rateLimited)
            {
                aimd.OnRateLimited(t);
            }
            else
            {
                aimd.OnSuccess();
            }
            var s = aimd.State;
            if (s.Burst < Limits.MinBurst || s.Burst > Limits.MaxBurst || s.Rate < Limits.MinRate || s.Rate > Limits.MaxRate)
            {
                return false.Label($"left the limits: {s}");
            }
        }
        return true.ToProperty();
    }
}
