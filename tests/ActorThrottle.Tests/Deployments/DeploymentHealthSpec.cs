using ActorThrottle.Configuration;
using ActorThrottle.Backend;
using ActorThrottle.Deployments;
using Xunit;

namespace ActorThrottle.Tests.Deployments;

public sealed class DeploymentHealthSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 1, 0, 0, TimeSpan.Zero);
    private static readonly DeploymentCoolDownSettings Options = new(3, 8, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(10));

    private static DateTimeOffset At(double seconds) => T0.AddSeconds(seconds);

    [Fact]
    public void Three_transient_failures_in_a_row_cool_it_down_for_the_first_length()
    {
        var health = new DeploymentHealth(Options);
        Assert.False(health.Observe(OutcomeKind.Transient, 503, At(0)));
        Assert.False(health.Observe(OutcomeKind.Transient, null, At(0.1)));
        Assert.False(health.IsCooledDown(At(0.1)));
        Assert.True(health.Observe(OutcomeKind.Transient, 500, At(0.2)));

        Assert.Equal(At(2.2), health.CooledDownUntil);
        Assert.True(health.IsCooledDown(At(2.19)));
        Assert.False(health.IsCooledDown(At(2.2)));
        Assert.True(health.Probing);
        Assert.Equal(1, health.CoolDowns);
    }

    [Fact]
    public void A_success_between_failures_breaks_the_run()
    {
        var health = new DeploymentHealth(Options);
        health.Observe(OutcomeKind.Transient, 503, At(0));
        health.Observe(OutcomeKind.Transient, 503, At(0.1));
        health.Observe(OutcomeKind.Success, 200, At(0.2));
        Assert.False(health.Observe(OutcomeKind.Transient, 503, At(0.3)));
        Assert.False(health.Observe(OutcomeKind.Transient, 503, At(0.4)));
        Assert.Null(health.CooledDownUntil);
    }

    [Fact]
    public void A_429_storm_cools_it_down_but_a_few_429s_are_the_throttles_business()
    {
        var health = new DeploymentHealth(Options);
        for (var i = 0; i < 7; i++)
        {
            Assert.False(health.Observe(OutcomeKind.RateLimited, 429, At(i * 0.01)));
        }
        Assert.True(health.Observe(OutcomeKind.RateLimited, 429, At(0.08)));
        Assert.Equal(At(2.08), health.CooledDownUntil);
    }

    [Fact]
    public void Answers_of_calls_sent_before_the_cool_down_do_not_extend_it()
    {
        var health = new DeploymentHealth(Options);
        for (var i = 0; i < 3; i++)
        {
            health.Observe(OutcomeKind.Transient, 503, At(0));
        }
        for (var i = 0; i < 10; i++)
        {
            Assert.False(health.Observe(OutcomeKind.Transient, 503, At(1)));
        }
        Assert.Equal(At(2), health.CooledDownUntil);
        Assert.Equal(1, health.CoolDowns);
    }

    [Fact]
    public void A_failed_probe_cools_it_down_again_for_twice_as_long_up_to_the_cap_and_a_success_resets()
    {
        var health = new DeploymentHealth(Options);
        for (var i = 0; i < 3; i++)
        {
            health.Observe(OutcomeKind.Transient, 503, At(0));
        }
        Assert.True(health.Observe(OutcomeKind.Transient, 503, At(2)));   // the probe fails: one failure is enough
        Assert.Equal(At(6), health.CooledDownUntil);                         // 4 s
        Assert.True(health.Observe(OutcomeKind.Transient, 503, At(6)));
        Assert.Equal(At(14), health.CooledDownUntil);                        // 8 s
        Assert.True(health.Observe(OutcomeKind.Transient, 503, At(14)));
        Assert.Equal(At(24), health.CooledDownUntil);                        // capped at 10 s

        Assert.False(health.Observe(OutcomeKind.Success, 200, At(24)));
        Assert.False(health.Probing);
        for (var i = 0; i < 3; i++)
        {
            health.Observe(OutcomeKind.Transient, 503, At(30));
        }
        Assert.Equal(At(32), health.CooledDownUntil);                        // back to the first length
    }

    [Theory]
    [InlineData(401, true)]
    [InlineData(403, true)]
    [InlineData(404, true)]
    [InlineData(400, false)]
    [InlineData(422, false)]
    public void A_bad_key_or_url_cools_it_down_at_once_a_bad_request_does_not(int status, bool coolsDown)
    {
        var health = new DeploymentHealth(Options);
        Assert.Equal(coolsDown, health.Observe(OutcomeKind.Permanent, status, At(0)));
        Assert.Equal(coolsDown, health.IsCooledDown(At(1)));
    }

    [Fact]
    public void Insufficient_quota_cools_it_down_at_once()
    {
        var health = new DeploymentHealth(Options);
        Assert.True(health.Observe(OutcomeKind.QuotaExceeded, 429, At(0)));
    }
}
