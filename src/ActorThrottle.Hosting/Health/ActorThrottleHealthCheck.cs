using ActorThrottle.Configuration;
using ActorThrottle.Models;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ActorThrottle.Hosting.Health;

/// <summary>
/// Gathers each model's facts from the running actor system (settings, the router's <see cref="ModelStatus"/>, the
/// start-up probe's findings) and judges them with <see cref="ActorThrottleHealth.Evaluate"/>.
/// </summary>
internal sealed class ActorThrottleHealthCheck(IServiceProvider services, ActorThrottleHealthCheckOptions options, EndpointProbeResults probes) : IHealthCheck
{
    /// <summary>The pseudo-model that stands for models created on first use from <c>defaults</c>.</summary>
    internal const string DefaultsName = "(defaults)";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (services.GetService<ActorSystem>() is not { } system || !ActorRegistry.For(system).TryGet<ActorThrottleRouter>(out var router))
        {
            return HealthCheckResult.Unhealthy("ActorThrottle is not running (no actor system or no router registered by WithActorThrottle).");
        }
        ActorThrottleSettings settings;
        try
        {
            settings = ActorThrottleSettings.FromConfig(system.Settings.Config);
        }
        catch (ActorThrottleConfigurationException e)
        {
            return HealthCheckResult.Unhealthy(e.Message);
        }

        var facts = new List<ModelHealthFacts>();
        try
        {
            foreach (var (id, route) in ModelsToCheck(settings, options))
            {
                var status = id == DefaultsName
                    ? new ModelStatus(id, 0, 0, 0, null, 0)
                    : await router.Ask<ModelStatus>(new GetModelStatus(id), options.StatusTimeout, cancellationToken).ConfigureAwait(false);
                facts.Add(new ModelHealthFacts(id, route.Display, route.ApiKey is null && !route.AllowUnauthenticated, status,
                    probes.FailureFor(route.Endpoint)));
            }
        }
        catch (AskTimeoutException)
        {
            return HealthCheckResult.Unhealthy($"ActorThrottle's router did not answer a status query within {options.StatusTimeout.TotalSeconds:0.#} s.");
        }
        return ActorThrottleHealth.Evaluate(facts);
    }

    /// <summary>Configured models, the ones named in the options, and — when unknown models are created from defaults — the defaults' route.</summary>
    internal static IEnumerable<(string Id, ModelRoute Route)> ModelsToCheck(ActorThrottleSettings settings, ActorThrottleHealthCheckOptions options)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in settings.ConfiguredModels.Keys.Concat(options.Models))
        {
            if (seen.Add(id) && settings.ForModel(id) is { } model)
            {
                // A model with deployments never calls its own endpoint; it can serve while one deployment has a key.
                yield return (id, model.Deployments.Count == 0 ? model.Route
                    : model.Deployments.Select(d => d.Settings.Route).FirstOrDefault(r => r.ApiKey is not null || r.AllowUnauthenticated) ?? model.Deployments[0].Settings.Route);
            }
        }
        if (settings.UnknownModels == UnknownModelPolicy.Create)
        {
            yield return (DefaultsName, settings.Defaults.Route);
        }
    }
}
