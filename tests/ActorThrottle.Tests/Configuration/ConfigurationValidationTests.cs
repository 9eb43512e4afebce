using ActorThrottle.Configuration;
using Akka.Configuration;
using Xunit;

namespace ActorThrottle.Tests.Configuration;

public sealed class ConfigurationValidationTests
{
    private const string D = "actor-throttle.defaults";
    private const string Gpt41 = "actor-throttle.models.\"gpt-4.1\"";

    [Theory]
    // rates
    [InlineData("actor-throttle.defaults.requests-per-second = -1", D + ".requests-per-second", "-1")]
    [InlineData("actor-throttle.defaults.requests-per-second = 0", D + ".requests-per-second", "0")]
    [InlineData("actor-throttle.defaults.requests-per-second = \"fast\"", D + ".requests-per-second", "fast")]
    [InlineData("actor-throttle.defaults.requests-per-second = NaN", D + ".requests-per-second", "NaN")]
    [InlineData("actor-throttle.defaults.requests-per-second = 1e400", D + ".requests-per-second", "1e400")]
    [InlineData("actor-throttle.models { \"gpt-4.1\" { requests-per-second = -3 } }", Gpt41 + ".requests-per-second", "-3")]
    [InlineData("actor-throttle.defaults.min-rate = 10", D + ".min-rate", "10")]
    [InlineData("actor-throttle.defaults.stream-usage = maybe", D + ".stream-usage", "maybe")]
    [InlineData("actor-throttle.models { \"gpt-4.1\" { stream-usage = 2 } }", Gpt41 + ".stream-usage", "2")]
    [InlineData("actor-throttle.defaults.min-rate = 0", D + ".min-rate", "0")]
    [InlineData("actor-throttle.models { \"gpt-4.1\" { requests-per-second = 0.05 } }", Gpt41 + ".requests-per-second", "0.05")]
    [InlineData("actor-throttle.models { \"gpt-4.1\" { min-rate = 6 } }", Gpt41 + ".min-rate", "6")]
    [InlineData("actor-throttle.defaults.tokens-per-minute = -1", D + ".tokens-per-minute", "-1")]
    [InlineData("actor-throttle.defaults.tokens-burst = -1", D + ".tokens-burst", "-1")]
    [InlineData("actor-throttle.defaults.tokens-burst = \"lots\"", D + ".tokens-burst", "lots")]
    [InlineData("actor-throttle.defaults.tokens-burst = 2.5", D + ".tokens-burst", "2.5")]
    [InlineData("actor-throttle.models { \"gpt-4.1\" { tokens-per-minute = 60000, tokens-burst = -5 } }", Gpt41 + ".tokens-burst", "-5")]
    // bursts, sizes
    [InlineData("actor-throttle.defaults.max-burst = 0", D + ".max-burst", "0")]
    [InlineData("actor-throttle.models { \"gpt-4.1\" { max-burst = 0 } }", Gpt41 + ".max-burst", "0")]
    [InlineData("actor-throttle.defaults.max-burst = 10.5", D + ".max-burst", "10.5")]
    [InlineData("actor-throttle.defaults.max-burst = 99999999999", D + ".max-burst", "99999999999")]
    [InlineData("actor-throttle.defaults.min-burst = 11", D + ".min-burst", "11")]
    [InlineData("actor-throttle.defaults.min-burst = 0", D + ".min-burst", "0")]
    [InlineData("actor-throttle.models { \"gpt-4.1\" { min-burst = 30 } }", Gpt41 + ".min-burst", "30")]
    [InlineData("actor-throttle { defaults.min-burst = 5, models { \"gpt-4.1\" { max-burst = 2 } } }", Gpt41 + ".max-burst", "2")]
    [InlineData("actor-throttle.defaults.queue-size = 0", D + ".queue-size", "0")]
    [InlineData("actor-throttle.defaults.max-in-flight = 0", D + ".max-in-flight", "0")]
    [InlineData("actor-throttle.models { m { max-in-flight = -2 } }", "actor-throttle.models.\"m\".max-in-flight", "-2")]
    [InlineData("actor-throttle.defaults.default-max-tokens = 0", D + ".default-max-tokens", "0")]
    [InlineData("actor-throttle.defaults.max-context-tokens = 0", D + ".max-context-tokens", "0")]
    // retry
    [InlineData("actor-throttle.defaults.retry.max-attempts = 0", D + ".retry.max-attempts", "0")]
    [InlineData("actor-throttle.models { \"gpt-4.1\" { retry { max-attempts = 0 } } }", Gpt41 + ".retry.max-attempts", "0")]
    [InlineData("actor-throttle.defaults.retry.base-delay = -1s", D + ".retry.base-delay", "-1s")]
    [InlineData("actor-throttle.defaults.retry.max-delay = 100ms", D + ".retry.max-delay", "100ms")]
    [InlineData("actor-throttle.models { \"gpt-4.1\" { retry.base-delay = 1m } }", Gpt41 + ".retry.base-delay", "1m")]
    [InlineData("actor-throttle.defaults.retry.max-retry-after = \"soon\"", D + ".retry.max-retry-after", "soon")]
    [InlineData("actor-throttle.defaults.retry.max-retry-after = 2 fortnights", D + ".retry.max-retry-after", "2 fortnights")]
    [InlineData("actor-throttle.defaults.retry.budget = -0.1", D + ".retry.budget", "-0.1")]
    [InlineData("actor-throttle.defaults.retry.budget-window = 0s", D + ".retry.budget-window", "0s")]
    [InlineData("actor-throttle.defaults.retry.budget-min-per-second = -1", D + ".retry.budget-min-per-second", "-1")]
    // durations
    [InlineData("actor-throttle.request-timeout = \"abc\"", "actor-throttle.request-timeout", "abc")]
    [InlineData("actor-throttle.request-timeout = 0s", "actor-throttle.request-timeout", "0s")]
    [InlineData("actor-throttle.request-timeout = 60", "actor-throttle.request-timeout", "60")]
    [InlineData("actor-throttle.request-timeout = 1us", "actor-throttle.request-timeout", "1us")]
    [InlineData("actor-throttle.request-timeout = infinite", "actor-throttle.request-timeout", "infinite")]
    [InlineData("actor-throttle.models { \"gpt-4.1\" { request-timeout = -5s } }", Gpt41 + ".request-timeout", "-5s")]
    [InlineData("actor-throttle.shutdown-grace = -1s", "actor-throttle.shutdown-grace", "-1s")]
    [InlineData("actor-throttle.defaults.adapt.cool-down = 1", D + ".adapt.cool-down", "1")]
    // policies
    [InlineData("actor-throttle.unknown-models = maybe", "actor-throttle.unknown-models", "maybe")]
    [InlineData("actor-throttle.defaults.token-accounting = refund", D + ".token-accounting", "refund")]
    [InlineData("actor-throttle.defaults.adapt.pause-on-retry-after = everything", D + ".adapt.pause-on-retry-after", "everything")]
    [InlineData("actor-throttle.models { \"gpt-4.1\" { adapt { pause-on-retry-after = cluster } } }", Gpt41 + ".adapt.pause-on-retry-after", "cluster")]
    // endpoints
    [InlineData("actor-throttle.endpoint = \"not a url\"", "actor-throttle.endpoint", "not a url")]
    [InlineData("actor-throttle.endpoint = \"ftp://x\"", "actor-throttle.endpoint", "ftp://x")]
    [InlineData("actor-throttle.endpoint = \"/v1/relative\"", "actor-throttle.endpoint", "/v1/relative")]
    [InlineData("actor-throttle.endpoint = \"\"", "actor-throttle.endpoint", "\"\"")]
    [InlineData("actor-throttle.models { \"gpt-4.1\" { endpoint = \"ftp://x\" } }", Gpt41 + ".endpoint", "ftp://x")]
    [InlineData("actor-throttle.defaults.endpoint = \"not a url\"", D + ".endpoint", "not a url")]
    // adapt
    [InlineData("actor-throttle.defaults.adapt.decrease-factor = 1", D + ".adapt.decrease-factor", "1")]
    [InlineData("actor-throttle.defaults.adapt.decrease-factor = 0", D + ".adapt.decrease-factor", "0")]
    [InlineData("actor-throttle.defaults.adapt.decrease-factor = -0.5", D + ".adapt.decrease-factor", "-0.5")]
    [InlineData("actor-throttle.models { \"gpt-4.1\" { adapt.decrease-factor = 1.5 } }", Gpt41 + ".adapt.decrease-factor", "1.5")]
    [InlineData("actor-throttle.defaults.adapt.increase-step = 0", D + ".adapt.increase-step", "0")]
    [InlineData("actor-throttle.defaults.adapt.increase-after = 0", D + ".adapt.increase-after", "0")]
    public void A_bad_value_fails_the_start_naming_its_full_path_and_the_value(string hocon, string path, string value)
    {
        var e = TestConfig.ParseFails(hocon);

        Assert.Equal(path, e.Path);
        Assert.Contains($"'{path}'", e.Message);
        Assert.Contains(value, e.Message);
    }

    [Theory]
    [InlineData("actor-throttle.defaults.max-burst = [1, 2]", D + ".max-burst", "list")]
    [InlineData("actor-throttle.defaults.max-burst { a = 1 }", D + ".max-burst", "block")]
    [InlineData("actor-throttle.endpoint { url = \"https://x\" }", "actor-throttle.endpoint", "block")]
    [InlineData("actor-throttle.models { \"gpt-4.1\" { api-key = [\"k\"] } }", Gpt41 + ".api-key", "list")]
    [InlineData("actor-throttle.models { \"gpt-4.1\" = 5 }", Gpt41, "block")]
    [InlineData("actor-throttle.models = [a, b]", "actor-throttle.models", "block")]
    [InlineData("actor-throttle = 5", "actor-throttle", "block")]
    public void A_list_or_block_where_a_single_value_belongs_is_named_rather_than_read_as_empty(string hocon, string path, string found)
    {
        var e = TestConfig.ParseFails(hocon);
        Assert.Equal(path, e.Path);
        Assert.Contains(found, e.Message);
    }

    [Theory]
    [InlineData("actor-throttle { defaults { max-burst = 3 }", "never closed")]
    [InlineData("actor-throttle { defaults { max-burst = 3 } } }", "closes nothing")]
    [InlineData("actor-throttle { defaults { max-burst = 3 ] }", "does not match")]
    [InlineData("actor-throttle { endpoint = \"https://x.example/v1 }", "not closed")]
    [InlineData("actor-throttle { endpoint = \"\"\"https://x.example/v1 }", "never closed")]
    [InlineData("actor-throttle [", "never closed")]
    [InlineData("actor-throttle {\n  models {\n    a { max-burst = 1 }, b { max-burst = 2 }\n  }\n}", "line 3")]
    public void Text_that_does_not_parse_fails_with_the_line_and_the_problem(string hocon, string problem)
    {
        var e = TestConfig.ParseFails(hocon);
        Assert.Equal("actor-throttle", e.Path);
        Assert.Contains("does not parse", e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Theory]
    [InlineData("actor-throttle { defaults { max-burst = } }", D + ".max-burst")]
    [InlineData("actor-throttle { defaults { max-burst } }", D + ".max-burst")]
    [InlineData("a b c", "\"a b c\"")]
    public void A_key_without_a_value_fails_naming_the_key(string hocon, string path)
    {
        var e = TestConfig.ParseFails(hocon);
        Assert.Equal(path, e.Path);
        Assert.Contains("no value", e.Message);
    }

    [Fact]
    public void Braces_and_quotes_inside_strings_and_comments_do_not_count_as_structure()
    {
        var settings = TestConfig.Parse("""
            # a comment with { and "
            actor-throttle {
              // another } comment
              api-key = "with { brace \" and quote }"
              endpoint = \"\"\"https://x.example/v1\"\"\"
              models { "a}b" { max-burst = 2 } }
            }
            """.Replace("\\\"\\\"\\\"", "\"\"\"", StringComparison.Ordinal));
        Assert.Equal("with { brace \" and quote }", settings.ApiKey!.Reveal());
        Assert.Equal(2, settings.ForModel("a}b")!.MaxBurst);
    }

    [Fact]
    public void A_null_text_is_an_argument_error()
    {
        Assert.Throws<ArgumentNullException>(() => ActorThrottleSettings.Parse(null!, TestConfig.NoEnvironment));
    }

    [Fact]
    public void A_config_object_with_a_bad_value_fails_the_same_way_as_text()
    {
        var config = ConfigurationFactory.ParseString("actor-throttle.defaults.max-burst = 0");
        var e = Assert.Throws<ActorThrottleConfigurationException>(() => ActorThrottleSettings.FromConfig(config, TestConfig.NoEnvironment));
        Assert.Equal(D + ".max-burst", e.Path);
    }

    [Theory]
    [InlineData("60s", 60_000)]
    [InlineData("\"1 second\"", 1_000)]
    [InlineData("500ms", 500)]
    [InlineData("2m", 120_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("10 minutes", 600_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("0", 0)]
    [InlineData("0s", 0)]
    public void Durations_take_the_units_Akka_accepts_and_zero_needs_none(string value, long milliseconds)
    {
        var settings = TestConfig.Parse($"actor-throttle.shutdown-grace = {value}");
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), settings.ShutdownGrace);
    }

    [Theory]
    [InlineData("60")]
    [InlineData("\"5\"")]
    [InlineData("1.5")]
    public void A_bare_number_duration_is_rejected_because_Akka_would_read_it_as_milliseconds(string value)
    {
        var e = TestConfig.ParseFails($"actor-throttle.shutdown-grace = {value}");
        Assert.Equal("actor-throttle.shutdown-grace", e.Path);
        Assert.Contains("needs a unit", e.Message);
    }

    [Fact]
    public void Valid_edge_values_are_accepted()
    {
        var settings = TestConfig.Parse("""
            actor-throttle {
              endpoint = "http://127.0.0.1:1/v1"
              defaults {
                requests-per-second = 0.1, min-rate = 0.1
                max-burst = 1, min-burst = 1
                retry { max-attempts = 1, base-delay = 0s, max-delay = 0s, budget = 0 }
                adapt { decrease-factor = 0.99 }
              }
            }
            """);
        Assert.Equal(1, settings.Defaults.MaxBurst);
        Assert.Equal(1, settings.Defaults.Retry.MaxAttempts);
        Assert.Equal(0.99, settings.Defaults.Adapt.DecreaseFactor);
    }

    [Fact]
    public void The_exception_exposes_the_path_and_keeps_the_message_format()
    {
        var e = new ActorThrottleConfigurationException("actor-throttle.x", "\"v\"", "why.");
        Assert.Equal("actor-throttle.x", e.Path);
        Assert.Equal("Invalid configuration at 'actor-throttle.x' = \"v\": why.", e.Message);
    }
}
