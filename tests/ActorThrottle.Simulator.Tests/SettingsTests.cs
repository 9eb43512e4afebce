namespace ActorThrottle.Simulator.Tests;

public sealed class SettingsTests
{
    [Fact]
    public void Defaults_are_valid()
    {
        new ModelSettings().Validate();
        new SimulatorOptions().Validate();
    }

    [Theory]
    [InlineData(nameof(ModelSettings.RequestsPerSecond))]
    [InlineData(nameof(ModelSettings.RequestsPerMinuteBurst))]
    [InlineData(nameof(ModelSettings.HangRate))]
    [InlineData(nameof(ModelSettings.Latency))]
    [InlineData(nameof(ModelSettings.DefaultMaxTokens))]
    [InlineData(nameof(ModelSettings.StreamBreakRate))]
    [InlineData(nameof(ModelSettings.StreamChunkInterval))]
    [InlineData(nameof(ModelSettings.StreamChunkTokens))]
    public void Invalid_values_name_the_field(string field)
    {
        var settings = field switch
        {
            nameof(ModelSettings.RequestsPerSecond) => new ModelSettings { RequestsPerSecond = -1 },
            nameof(ModelSettings.RequestsPerMinuteBurst) => new ModelSettings { RequestsPerMinute = 5, RequestsPerMinuteBurst = 0 },
            nameof(ModelSettings.HangRate) => new ModelSettings { HangRate = 1.5 },
            nameof(ModelSettings.Latency) => new ModelSettings { Latency = TimeSpan.FromSeconds(-1) },
            nameof(ModelSettings.StreamBreakRate) => new ModelSettings { StreamBreakRate = 1.01 },
            nameof(ModelSettings.StreamChunkInterval) => new ModelSettings { StreamChunkInterval = TimeSpan.FromMilliseconds(-1) },
            nameof(ModelSettings.StreamChunkTokens) => new ModelSettings { StreamChunkTokens = 0 },
            _ => new ModelSettings { DefaultMaxTokens = -5 },
        };
        var error = Assert.Throws<ArgumentException>(settings.Validate);
        Assert.Contains(field, error.Message);
    }

    [Fact]
    public void The_stream_break_rate_is_apart_from_the_fault_rates()
    {
        new ModelSettings { Error500Rate = 1, StreamBreakRate = 1 }.Validate();
    }

    [Fact]
    public void Fault_rates_may_not_exceed_one_together()
    {
        var error = Assert.Throws<ArgumentException>(new ModelSettings { Error500Rate = 0.6, ResetRate = 0.6 }.Validate);
        Assert.Contains("fault rates", error.Message);
    }

    [Fact]
    public void Options_validate_their_models()
    {
        var options = new SimulatorOptions { Models = new Dictionary<string, ModelSettings> { ["m"] = new() { TokensPerMinute = -1 } } };
        Assert.Throws<ArgumentException>(() => new SimulatedProvider(options));
        Assert.Throws<ArgumentException>(() => new SimulatedProvider(new SimulatorOptions { Port = 70000 }));
    }
}
