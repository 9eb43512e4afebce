using ActorThrottle.Configuration;

namespace ActorThrottle.Tests.Support;

/// <summary>Settings for engine tests: fast limits and short delays so tests assert outcomes, not speed.</summary>
public static class TestConfig
{
    public const string FastDefaults = """
        actor-throttle {
          endpoint = "http://127.0.0.1:9/v1"
          request-timeout = 2s
          shutdown-grace = 1s
          defaults {
            requests-per-second = 1000
            max-burst = 50
            max-in-flight = 16
            queue-size = 1000
            retry { max-attempts = 4, base-delay = 5ms, max-delay = 40ms, budget = 1.0, budget-min-per-second = 100 }
            adapt { cool-down = 0s, increase-after = 5 }
          }
        }
        """;

    /// <summary>Parses <paramref name="overrides"/> over <see cref="FastDefaults"/> over the reference; no environment.</summary>
    public static ActorThrottleSettings Settings(string overrides = "") =>
        ActorThrottleSettings.FromConfig(
            Akka.Configuration.ConfigurationFactory.ParseString(overrides)
                .WithFallback(Akka.Configuration.ConfigurationFactory.ParseString(FastDefaults)),
            _ => null);
}
