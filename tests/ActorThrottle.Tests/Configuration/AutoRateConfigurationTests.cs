using ActorThrottle.Configuration;
using Xunit;

namespace ActorThrottle.Tests.Configuration;

/// <summary><c>requests-per-second = auto</c>, <c>tokens-per-minute = auto</c> and <c>adapt.auto-start-rate</c>.</summary>
public sealed class AutoRateConfigurationTests
{
    [Fact]
    public void The_reference_default_is_auto_for_both_starting_at_the_auto_start_rate()
    {
        var defaults = TestConfig.Parse("").Defaults;
        Assert.True(defaults.AutoRate);
        Assert.True(defaults.AutoTokens);
        Assert.Equal(AdaptSettings.DefaultAutoStartRate, defaults.Adapt.AutoStartRate);
        Assert.Equal(AdaptSettings.DefaultAutoStartRate, defaults.RequestsPerSecond);
        Assert.Equal(0, defaults.TokensPerMinute);
    }

    [Fact]
    public void A_configured_number_is_a_ceiling_and_not_auto()
    {
        var model = TestConfig.Parse("""actor-throttle.models.m { requests-per-second = 20, tokens-per-minute = 90000 }""").ForModel("m")!;
        Assert.False(model.AutoRate);
        Assert.False(model.AutoTokens);
        Assert.Equal(20, model.RequestsPerSecond);
        Assert.Equal(90000, model.TokensPerMinute);
    }

    [Theory]
    [InlineData("auto")]
    [InlineData("AUTO")]
    [InlineData("\"auto\"")]
    public void Auto_is_read_in_any_case_and_quoted(string value)
    {
        var model = TestConfig.Parse($"actor-throttle.models.m {{ requests-per-second = {value}, tokens-per-minute = {value}, adapt.auto-start-rate = 2 }}").ForModel("m")!;
        Assert.True(model.AutoRate);
        Assert.True(model.AutoTokens);
        Assert.Equal(2, model.RequestsPerSecond);
    }

    [Theory]
    [InlineData("requests-per-second = atuo", "actor-throttle.models.\"m\".requests-per-second", "a number or auto")]
    [InlineData("requests-per-second = -3", "actor-throttle.models.\"m\".requests-per-second", "greater than 0")]
    [InlineData("tokens-per-minute = lots", "actor-throttle.models.\"m\".tokens-per-minute", "a whole number or auto")]
    [InlineData("tokens-per-minute = 1.5", "actor-throttle.models.\"m\".tokens-per-minute", "a whole number or auto")]
    [InlineData("adapt.auto-start-rate = 0", "actor-throttle.models.\"m\".adapt.auto-start-rate", "greater than 0")]
    [InlineData("adapt.auto-start-rate = 0.05", "actor-throttle.models.\"m\".adapt.auto-start-rate", "min-rate")]
    [InlineData("min-rate = 50", "actor-throttle.models.\"m\".min-rate", "adapt.auto-start-rate")]
    public void Bad_values_name_their_path(string line, string path, string problem)
    {
        var e = TestConfig.ParseFails($"actor-throttle.models.m {{ {line} }}");
        Assert.Equal(path, e.Path);
        Assert.Contains(problem, e.Message);
    }
}
