using ActorThrottle.Hosting;
using Akka.Hosting;

namespace ActorThrottle.Cluster;

/// <summary>
/// Adds ActorThrottle to an Akka.Hosting actor system that may run in cluster mode. It lives here rather than in
/// ActorThrottle.Hosting so that an app without a cluster does not pull Akka.Cluster, Sharding and LightningDB.
/// </summary>
public static class ActorThrottleClusterHostingExtensions
{
    /// <summary>
    /// As <c>WithActorThrottle</c> (same HOCON, logging, registry entry <see cref="ActorThrottleRouter"/> and typed
    /// client), started with <see cref="ActorThrottleCluster.Start"/>: with <c>actor-throttle.cluster.enabled = on</c>
    /// (from <see cref="ActorThrottleOptions.Cluster"/> or HOCON) each model's throttle is a Cluster Sharding entity, one
    /// per cluster; with it off, the local engine. The actor system must be a cluster one in cluster mode
    /// (<c>akka.actor.provider = cluster</c>, e.g. Akka.Cluster.Hosting's <c>WithClustering</c>).
    /// </summary>
    public static AkkaConfigurationBuilder WithActorThrottleCluster(this AkkaConfigurationBuilder builder, ActorThrottleOptions options) =>
        builder.WithActorThrottleCore(options, (system, settings, environment, name) => ActorThrottleCluster.Start(system, settings, environment, name));

    /// <summary>As <see cref="WithActorThrottleCluster(AkkaConfigurationBuilder, ActorThrottleOptions)"/>, bound from a configuration section (<see cref="ActorThrottleOptions.FromConfiguration"/>), then <paramref name="configure"/>.</summary>
    public static AkkaConfigurationBuilder WithActorThrottleCluster(this AkkaConfigurationBuilder builder, Microsoft.Extensions.Configuration.IConfigurationSection section,
        Action<ActorThrottleOptions>? configure = null)
    {
        var options = ActorThrottleOptions.FromConfiguration(section);
        configure?.Invoke(options);
        return builder.WithActorThrottleCluster(options);
    }

    /// <summary>As <see cref="WithActorThrottleCluster(AkkaConfigurationBuilder, ActorThrottleOptions)"/>, configured in code.</summary>
    public static AkkaConfigurationBuilder WithActorThrottleCluster(this AkkaConfigurationBuilder builder, Action<ActorThrottleOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var options = new ActorThrottleOptions();
        configure(options);
        return builder.WithActorThrottleCluster(options);
    }
}
