using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ActorThrottle.Hosting.Health;

/// <summary>Registers ActorThrottle's health check.</summary>
public static class ActorThrottleHealthCheckExtensions
{
    /// <summary>
    /// Adds a health check named <paramref name="name"/> (default <c>actor-throttle</c>) judged by
    /// <see cref="ActorThrottleHealth.Evaluate"/>: unhealthy when a model's endpoint needs a key and has none, when every
    /// recent attempt of a model failed to connect, or when the optional start-up probe could not reach an endpoint;
    /// degraded when a model is paused or the provider (or its queue) is rejecting. Use next to <c>AddAkka(...
    /// WithActorThrottle(...))</c>; map it with ASP.NET Core's <c>app.MapHealthChecks("/health")</c>.
    /// </summary>
    /// <param name="services">The app's services.</param>
    /// <param name="configure">Options; by default no start-up probe.</param>
    /// <param name="name">The check's name; default <c>actor-throttle</c>.</param>
    /// <param name="tags">Tags for filtering (e.g. <c>ready</c>); default none.</param>
    public static IHealthChecksBuilder AddActorThrottleHealthChecks(this IServiceCollection services,
        Action<ActorThrottleHealthCheckOptions>? configure = null, string name = "actor-throttle", IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var options = new ActorThrottleHealthCheckOptions();
        configure?.Invoke(options);
        var probes = new EndpointProbeResults();
        if (options.ProbeEndpointsOnStart)
        {
            services.AddHostedService(sp => new EndpointStartupProbe(sp, options, probes));
        }
        return services.AddHealthChecks().Add(new HealthCheckRegistration(name,
            sp => new ActorThrottleHealthCheck(sp, options, probes), failureStatus: null, tags));
    }
}
