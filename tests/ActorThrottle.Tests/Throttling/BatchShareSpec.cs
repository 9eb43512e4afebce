using ActorThrottle.Configuration;
using ActorThrottle.Models;
using ActorThrottle.Tests.Support;
using Xunit;

namespace ActorThrottle.Tests.Throttling;

public sealed class BatchShareSpec
{
    [Theory]
    [InlineData(0, 0)]
    [InlineData(0.1, 9)]
    [InlineData(0.25, 3)]
    [InlineData(0.5, 1)]
    [InlineData(0.01, 99)]
    public void A_batch_share_becomes_the_number_of_interactive_releases_between_batch_ones(double share, int guard) =>
        Assert.Equal(guard, ModelActor.StarvationGuard(share));

    [Fact]
    public void The_default_share_is_a_tenth_and_a_share_above_one_half_is_refused()
    {
        Assert.Equal(0.1, TestConfig.Settings().Defaults.BatchShare);
        var error = Assert.Throws<ActorThrottleConfigurationException>(() => TestConfig.Settings("actor-throttle.models.m.batch-share = 0.7"));
        Assert.Equal("actor-throttle.models.\"m\".batch-share", error.Path);
    }
}
