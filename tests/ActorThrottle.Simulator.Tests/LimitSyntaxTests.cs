namespace ActorThrottle.Simulator.Tests;

/// <summary>The one-line form of limits and schedules (command line and HOCON).</summary>
public sealed class LimitSyntaxTests
{
    [Fact]
    public void Every_algorithm_and_option_parses()
    {
        Assert.Equal(
            new LimitSpec { Algorithm = LimitAlgorithm.FixedWindow, Quota = 20, Window = TimeSpan.FromSeconds(1), WindowStart = WindowStart.FirstHit, ChargeRejected = true },
            LimitSyntax.ParseLimit("fixed-window:20/1s,start=first-hit,charged"));
        Assert.Equal(
            new LimitSpec { Algorithm = LimitAlgorithm.Gcra, Quota = 100, Burst = 5, MaxDelay = TimeSpan.FromMilliseconds(500) },
            LimitSyntax.ParseLimit("gcra:100/1s, burst=5, max-delay=500ms"));
        Assert.Equal(new LimitSpec { Algorithm = LimitAlgorithm.Concurrency, Quota = 8 }, LimitSyntax.ParseLimit("concurrency:8"));
        Assert.Equal(
            new LimitSpec { Algorithm = LimitAlgorithm.SlidingLog, Unit = LimitUnit.Tokens, Quota = 30000, Window = TimeSpan.FromMinutes(1), ChargeRejected = false, Name = "tpm" },
            LimitSyntax.ParseLimit("sliding-log:30000/1m,unit=tokens,free,name=tpm"));
        Assert.Equal(LimitAlgorithm.SlidingWindowCounter, LimitSyntax.ParseLimit("sliding-window:600/1h").Algorithm);
        Assert.Equal(TimeSpan.FromHours(1), LimitSyntax.ParseLimit("sliding-window:600/1h").Window);
        Assert.Equal(LimitAlgorithm.TokenBucket, LimitSyntax.ParseLimit("TOKEN-BUCKET:2.5/1s").Algorithm);
    }

    [Theory]
    [InlineData("20/1s", "a limit is")]
    [InlineData("leaky:20/1s", "unknown algorithm 'leaky'")]
    [InlineData("gcra:fast/1s", "the quota must be a number")]
    [InlineData("gcra:20/soon", "the window must be a duration")]
    [InlineData("gcra:20/1s,colour=red", "unknown option 'colour=red'")]
    [InlineData("gcra:20/1s,unit=bytes", "unit must be requests or tokens")]
    [InlineData("fixed-window:20/1s,start=noon", "start must be clock or first-hit")]
    [InlineData("fixed-window:20/1s,max-delay=1s", "MaxDelay applies only to the gcra algorithm")]
    [InlineData("token-bucket:-1/1s", "Quota must be a finite number > 0")]
    [InlineData("concurrency:2.5", "a concurrency limit counts requests in flight")]
    public void Malformed_limits_say_which_part_is_wrong(string text, string expected)
    {
        var error = Assert.Throws<FormatException>(() => LimitSyntax.ParseLimit(text));
        Assert.Contains(expected, error.Message);
        Assert.StartsWith($"'{text}'", error.Message);
    }

    [Fact]
    public void Schedules_parse_factors_and_outages_in_order()
    {
        var steps = LimitSyntax.ParseSchedule("10s=0.4, 20s=1, 30s=outage:529, 1m=1");
        Assert.Equal(
            new[]
            {
                new ScheduleStep { At = TimeSpan.FromSeconds(10), Factor = 0.4 },
                new ScheduleStep { At = TimeSpan.FromSeconds(20), Factor = 1 },
                new ScheduleStep { At = TimeSpan.FromSeconds(30), OutageStatus = 529 },
                new ScheduleStep { At = TimeSpan.FromMinutes(1), Factor = 1 },
            },
            steps);
        Assert.Empty(LimitSyntax.ParseSchedule(""));
    }

    [Theory]
    [InlineData("10s", "a schedule step is")]
    [InlineData("10s=0", "Factor must be a finite number > 0")]
    [InlineData("10s=outage:429", "OutageStatus must be 500, 502, 503, 504 or 529")]
    [InlineData("10s=1,5s=1", "must be in order of time")]
    [InlineData("later=1", "the time must be a duration")]
    public void Malformed_schedules_are_refused(string text, string expected)
    {
        Assert.Contains(expected, Assert.Throws<FormatException>(() => LimitSyntax.ParseSchedule(text)).Message);
    }

    [Theory]
    [InlineData("openai", RateLimitHeaderMode.Full)]
    [InlineData("full", RateLimitHeaderMode.Full)]
    [InlineData("none", RateLimitHeaderMode.None)]
    [InlineData("retry-after", RateLimitHeaderMode.RetryAfterOnly)]
    [InlineData("Retry-After-Only", RateLimitHeaderMode.RetryAfterOnly)]
    [InlineData("retry-after-date", RateLimitHeaderMode.RetryAfterDate)]
    [InlineData("azure", RateLimitHeaderMode.Azure)]
    [InlineData("anthropic", RateLimitHeaderMode.Anthropic)]
    [InlineData("ietf-draft7", RateLimitHeaderMode.IetfDraft7)]
    [InlineData("ietf-structured", RateLimitHeaderMode.IetfStructured)]
    [InlineData("ietf-separate", RateLimitHeaderMode.IetfSeparate)]
    public void Header_dialect_names_parse(string name, RateLimitHeaderMode mode)
    {
        Assert.True(RateLimitHeaderModeNames.TryParse(name, out var parsed));
        Assert.Equal(mode, parsed);
    }

    [Fact]
    public void Every_header_dialect_has_a_name()
    {
        foreach (var mode in Enum.GetValues<RateLimitHeaderMode>())
        {
            Assert.True(RateLimitHeaderModeNames.TryParse(RateLimitHeaderModeNames.NameOf(mode), out var back));
            Assert.Equal(mode, back);
        }

        Assert.False(RateLimitHeaderModeNames.TryParse("x-rate", out _));
    }

    [Fact]
    public void The_command_line_takes_limits_schedules_and_every_dialect()
    {
        var options = CommandLine.Parse([
            "--limit", "fixed-window:20/1s,start=first-hit,charged", "--limit", "concurrency:4",
            "--schedule", "5s=0.4,10s=1", "--headers", "ietf-draft7",
        ])!;
        var model = options.DefaultModel;
        Assert.Equal([LimitAlgorithm.FixedWindow, LimitAlgorithm.Concurrency], model.Limits.Select(l => l.Algorithm));
        Assert.Equal(2, model.Schedule.Count);
        Assert.Equal(RateLimitHeaderMode.IetfDraft7, model.HeaderMode);
        Assert.StartsWith("--limit: 'gcra:x'", Assert.Throws<ArgumentException>(() => CommandLine.Parse(["--limit", "gcra:x"])).Message);
        Assert.Contains("ietf-structured", Assert.Throws<ArgumentException>(() => CommandLine.Parse(["--headers", "rfc"])).Message);
    }
}
