using ActorThrottle.Hosting.Health;
using ActorThrottle.Models;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Xunit;

namespace ActorThrottle.Tests.Health;

/// <summary>The health rules as a pure function: each rule at its threshold and just below it, and worst-model-wins.</summary>
public sealed class ActorThrottleHealthSpec
{
    private static ModelHealthFacts Facts(RecentAttempts? recent = null, bool missingKey = false, DateTimeOffset? pausedUntil = null, string? probe = null) =>
        new("m", "https://api.example.com/v1", missingKey, new ModelStatus("m", 0, 10, 5, pausedUntil, 0) { Recent = recent ?? RecentAttempts.None }, probe);

    private static RecentAttempts Recent(int successes = 0, int rateLimited = 0, int noResponse = 0, int other = 0, int queueFull = 0) =>
        new(successes + rateLimited + noResponse + other, successes, rateLimited, noResponse, other, queueFull);

    public static TheoryData<string, ModelHealthFacts, HealthStatus> Cases() => new()
    {
        { "nothing sent yet", Facts(), HealthStatus.Healthy },
        { "all succeeded", Facts(Recent(successes: 20)), HealthStatus.Healthy },
        { "no key for an endpoint that needs one", Facts(missingKey: true), HealthStatus.Unhealthy },
        { "no key wins over successes", Facts(Recent(successes: 5), missingKey: true), HealthStatus.Unhealthy },
        { "3 of 3 got no answer", Facts(Recent(noResponse: 3)), HealthStatus.Unhealthy },
        { "2 of 2 got no answer: too few to judge", Facts(Recent(noResponse: 2)), HealthStatus.Healthy },
        { "3 without answer and 1 success", Facts(Recent(successes: 1, noResponse: 3)), HealthStatus.Healthy },
        { "3 without answer and a 503", Facts(Recent(noResponse: 3, other: 1)), HealthStatus.Healthy },
        { "probe failed, nothing since", Facts(probe: "connection failed (ConnectionRefused)"), HealthStatus.Unhealthy },
        { "probe failed, failures since", Facts(Recent(other: 2), probe: "connection failed (ConnectionRefused)"), HealthStatus.Unhealthy },
        { "probe failed, a success since", Facts(Recent(successes: 1), probe: "connection failed (ConnectionRefused)"), HealthStatus.Healthy },
        { "paused", Facts(pausedUntil: DateTimeOffset.UnixEpoch.AddDays(1)), HealthStatus.Degraded },
        { "3 of 4 answered 429", Facts(Recent(successes: 1, rateLimited: 3)), HealthStatus.Degraded },
        { "2 of 4 answered 429: not more than half", Facts(Recent(successes: 2, rateLimited: 2)), HealthStatus.Healthy },
        { "3 of 3 answered 429: too few to judge", Facts(Recent(rateLimited: 3)), HealthStatus.Healthy },
        { "queue turned one away", Facts(Recent(successes: 10, queueFull: 1)), HealthStatus.Degraded },
        { "unreachable wins over paused", Facts(Recent(noResponse: 3), pausedUntil: DateTimeOffset.UnixEpoch), HealthStatus.Unhealthy },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Each_rule_judges_a_model(string because, ModelHealthFacts facts, HealthStatus expected)
    {
        var (status, reason) = ActorThrottleHealth.Judge(facts);
        Assert.True(expected == status, $"{because}: expected {expected}, got {status} ({reason})");
        Assert.Equal(status == HealthStatus.Healthy, reason is null);
    }

    [Fact]
    public void The_worst_model_decides_and_the_description_names_each_unhealthy_and_degraded_model()
    {
        var result = ActorThrottleHealth.Evaluate(
        [
            Facts(Recent(successes: 3)) with { Model = "fine" },
            Facts(pausedUntil: DateTimeOffset.UnixEpoch) with { Model = "slow" },
            Facts(missingKey: true) with { Model = "keyless" },
        ]);
        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.Contains("keyless: no API key is configured for https://api.example.com/v1", result.Description);
        Assert.Contains("slow: paused until", result.Description);
        Assert.DoesNotContain("fine", result.Description);
        Assert.Equal("ok", result.Data["fine"]);

        Assert.Equal(HealthStatus.Degraded, ActorThrottleHealth.Evaluate([Facts(), Facts(pausedUntil: DateTimeOffset.UnixEpoch)]).Status);
        Assert.Equal(HealthStatus.Healthy, ActorThrottleHealth.Evaluate([]).Status);
    }
}
