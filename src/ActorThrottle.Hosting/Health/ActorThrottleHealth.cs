using ActorThrottle.Models;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ActorThrottle.Hosting.Health;

/// <summary>
/// The health rules as a pure function of the facts: each model's status, whether its endpoint needs a key it lacks,
/// and whether the start-up probe reached its endpoint. Worst model wins.
/// </summary>
public static class ActorThrottleHealth
{
    /// <summary>Fewest recent attempts before "every one failed to connect" makes a model unhealthy (one refused call is not an outage).</summary>
    public const int MinAttemptsForUnreachable = 3;

    /// <summary>Fewest recent attempts before a 429 share counts as rejecting (as the supervisor's overload rule).</summary>
    public const int MinAttemptsForRejecting = 4;

    /// <summary>
    /// Unhealthy when a model's endpoint needs a key and none is configured, when every one of at least
    /// <see cref="MinAttemptsForUnreachable"/> recent attempts got no HTTP answer, or when the start-up probe could not
    /// reach its endpoint and no attempt has succeeded since. Degraded when a model is paused, when more than half of at
    /// least <see cref="MinAttemptsForRejecting"/> recent attempts were answered 429, or when its queue turned requests away.
    /// Healthy otherwise (also when nothing was sent yet).
    /// </summary>
    public static HealthCheckResult Evaluate(IReadOnlyList<ModelHealthFacts> models)
    {
        ArgumentNullException.ThrowIfNull(models);
        var unhealthy = new List<string>();
        var degraded = new List<string>();
        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var model in models)
        {
            var (status, reason) = Judge(model);
            data[model.Model] = reason ?? "ok";
            if (status == HealthStatus.Unhealthy)
            {
                unhealthy.Add($"{model.Model}: {reason}");
            }
            else if (status == HealthStatus.Degraded)
            {
                degraded.Add($"{model.Model}: {reason}");
            }
        }
        if (unhealthy.Count > 0)
        {
            return HealthCheckResult.Unhealthy(string.Join("; ", unhealthy.Concat(degraded)), data: data);
        }
        if (degraded.Count > 0)
        {
            return HealthCheckResult.Degraded(string.Join("; ", degraded), data: data);
        }
        return HealthCheckResult.Healthy(models.Count == 0 ? "no models configured or named" : $"{models.Count} model(s) ok", data);
    }

    /// <summary>One model's verdict and, unless healthy, why (never a key, only the endpoint's display form).</summary>
    public static (HealthStatus Status, string? Reason) Judge(ModelHealthFacts model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var recent = model.Status.Recent;
        if (model.MissingKey)
        {
            return (HealthStatus.Unhealthy, $"no API key is configured for {model.Endpoint}");
        }
        if (recent.Attempts >= MinAttemptsForUnreachable && recent.NoResponse == recent.Attempts)
        {
            return (HealthStatus.Unhealthy, $"the last {recent.Attempts} attempts to {model.Endpoint} got no answer (connection failed or timed out)");
        }
        if (model.ProbeFailure is { } probe && recent.Successes == 0)
        {
            return (HealthStatus.Unhealthy, $"the start-up probe could not reach {model.Endpoint}: {probe}");
        }
        if (model.Status.PausedUntil is { } until)
        {
            return (HealthStatus.Degraded, $"paused until {until:O}");
        }
        if (recent.Attempts >= MinAttemptsForRejecting && recent.RateLimited * 2 > recent.Attempts)
        {
            return (HealthStatus.Degraded, $"the provider rejected {recent.RateLimited} of the last {recent.Attempts} attempts (429)");
        }
        if (recent.QueueFull > 0)
        {
            return (HealthStatus.Degraded, $"turned {recent.QueueFull} request(s) away in the last minute (queue full)");
        }
        return (HealthStatus.Healthy, null);
    }
}
