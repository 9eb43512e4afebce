using ActorThrottle.Configuration;
using ActorThrottle.Limits;
using ActorThrottle.Tests.Adaptation;
using Xunit;

namespace ActorThrottle.Tests.Limits;

/// <summary>Validation of limits set at run time: every error names the HOCON key and the property, nothing is half-applied.</summary>
public sealed class ModelLimitsTests
{
    private static readonly ModelSettings Current = RateControllerReplaySpec.Settings("max-in-flight = 8\nqueue-size = 100\nmin-burst = 2");

    public static TheoryData<ModelLimits, string, string> Invalid => new()
    {
        { new ModelLimits { RequestsPerSecond = 0 }, "requests-per-second", "RequestsPerSecond" },
        { new ModelLimits { RequestsPerSecond = double.NaN }, "requests-per-second", "RequestsPerSecond" },
        { new ModelLimits { RequestsPerSecond = double.PositiveInfinity }, "requests-per-second", "RequestsPerSecond" },
        { new ModelLimits { RequestsPerSecond = 5, AutoRate = true }, "requests-per-second", "RequestsPerSecond" },
        { new ModelLimits { TokensPerMinute = -1 }, "tokens-per-minute", "TokensPerMinute" },
        { new ModelLimits { MaxBurst = 0 }, "max-burst", "MaxBurst" },
        { new ModelLimits { MinBurst = 0 }, "min-burst", "MinBurst" },
        { new ModelLimits { MinRate = -0.5 }, "min-rate", "MinRate" },
        { new ModelLimits { MaxInFlight = 0 }, "max-in-flight", "MaxInFlight" },
        { new ModelLimits { QueueSize = 0 }, "queue-size", "QueueSize" },
        // Conflicts with the rest of the model's settings: the field that was set is blamed.
        { new ModelLimits { MaxBurst = 1 }, "max-burst", "MaxBurst" },
        { new ModelLimits { MinBurst = 11 }, "min-burst", "MinBurst" },
        { new ModelLimits { MinRate = 11 }, "min-rate", "MinRate" },
        { new ModelLimits { RequestsPerSecond = 0.05 }, "requests-per-second", "RequestsPerSecond" },
        // Larger than the pipeline the model runs.
        { new ModelLimits { MaxInFlight = 9 }, "max-in-flight", "MaxInFlight" },
        { new ModelLimits { QueueSize = 101 }, "queue-size", "QueueSize" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void An_invalid_limit_is_rejected_naming_its_key_and_property(ModelLimits limits, string key, string property)
    {
        var (next, error) = limits.ApplyTo(Current, builtMaxInFlight: 8, builtQueueSize: 100);

        Assert.Null(next);
        Assert.NotNull(error);
        Assert.Equal(key, error.Value.Field);
        Assert.StartsWith($"Invalid limit {key} (ModelLimits.{property}) = ", error.Value.Message);
    }

    [Fact]
    public void Raising_past_the_built_pipeline_says_it_needs_a_restart()
    {
        var (_, error) = new ModelLimits { MaxInFlight = 9 }.ApplyTo(Current, 8, 100);
        Assert.Contains("cannot be raised live above 8", error!.Value.Message);
        Assert.Contains("restart", error.Value.Message);
    }

    [Fact]
    public void Valid_limits_change_only_the_fields_given()
    {
        var (next, error) = new ModelLimits { RequestsPerSecond = 4, MaxInFlight = 3, QueueSize = 50, TokensPerMinute = 1000 }.ApplyTo(Current, 8, 100);

        Assert.Null(error);
        Assert.Equal(Current with { RequestsPerSecond = 4, MaxInFlight = 3, QueueSize = 50, TokensPerMinute = 1000, AutoTokens = false }, next);
        Assert.True(new ModelLimits().IsEmpty);
        Assert.Equal(Current, new ModelLimits().ApplyTo(Current, 8, 100).Settings);
    }

    [Fact]
    public void Auto_keeps_the_rate_settings_shape_of_the_configuration()
    {
        var (auto, _) = new ModelLimits { AutoRate = true }.ApplyTo(Current, 8, 100);
        Assert.True(auto!.AutoRate);
        Assert.Equal(Current.Adapt.AutoStartRate, auto.RequestsPerSecond);

        var (number, _) = new ModelLimits { RequestsPerSecond = 12 }.ApplyTo(auto, 8, 100);
        Assert.False(number!.AutoRate);
        Assert.Equal(12, number.RequestsPerSecond);
    }
}
