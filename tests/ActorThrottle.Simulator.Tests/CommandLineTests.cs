namespace ActorThrottle.Simulator.Tests;

public sealed class CommandLineTests
{
    [Fact]
    public void Parses_the_documented_example()
    {
        var options = CommandLine.Parse(["--port", "8080", "--rpm", "600", "--tpm", "100000", "--latency-ms", "50", "--model", "gpt-4o-mini"])!;
        Assert.Equal(8080, options.Port);
        Assert.Equal(600, options.DefaultModel.RequestsPerMinute);
        Assert.Equal(100_000, options.DefaultModel.TokensPerMinute);
        Assert.Equal(TimeSpan.FromMilliseconds(50), options.DefaultModel.Latency);
        Assert.Equal(options.DefaultModel, options.Models["gpt-4o-mini"]);
    }

    [Fact]
    public void Parses_modes_faults_and_flags()
    {
        var options = CommandLine.Parse([
            "--headers", "retry-after", "--accounting", "reconcile", "--charge-rejected", "--insufficient-quota",
            "--error500", "0.1", "--reset-rate", "0.05", "--hang-ms", "2000", "--seed", "7", "--unknown-models", "reject", "--api-key", "k",
        ])!;
        var model = options.DefaultModel;
        Assert.Equal(RateLimitHeaderMode.RetryAfterOnly, model.HeaderMode);
        Assert.Equal(TokenAccounting.Reconcile, model.TokenAccounting);
        Assert.True(model.ChargeRejected);
        Assert.True(model.InsufficientQuota);
        Assert.Equal(0.1, model.Error500Rate);
        Assert.Equal(0.05, model.ResetRate);
        Assert.Equal(TimeSpan.FromSeconds(2), model.HangDuration);
        Assert.Equal(7, model.Seed);
        Assert.Equal(UnknownModelPolicy.Reject, options.UnknownModels);
        Assert.Equal("k", options.ApiKey);
    }

    [Fact]
    public void Parses_stream_settings()
    {
        var model = CommandLine.Parse(["--stream-chunk-interval-ms", "25", "--stream-chunk-tokens", "3", "--stream-break-rate", "0.2"])!.DefaultModel;
        Assert.Equal(TimeSpan.FromMilliseconds(25), model.StreamChunkInterval);
        Assert.Equal(3, model.StreamChunkTokens);
        Assert.Equal(0.2, model.StreamBreakRate);
        Assert.Contains("--stream-break-rate", CommandLine.Usage);
        Assert.Contains(nameof(ModelSettings.StreamBreakRate), Assert.Throws<ArgumentException>(() => CommandLine.Parse(["--stream-break-rate", "2"])).Message);
    }

    [Fact]
    public void Help_returns_null()
    {
        Assert.Null(CommandLine.Parse(["--help"]));
    }

    [Theory]
    [InlineData("--bogus", "1")]
    [InlineData("--rpm", "lots")]
    [InlineData("--rpm", "-5")]
    [InlineData("--headers", "some")]
    [InlineData("--port")]
    [InlineData("--stream-break-rate", "2")]
    [InlineData("--stream-chunk-interval-ms", "-1")]
    [InlineData("--stream-chunk-tokens", "0")]
    public void Bad_arguments_throw_naming_the_option(params string[] args)
    {
        var error = Assert.Throws<ArgumentException>(() => CommandLine.Parse(args));
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
    }
}
