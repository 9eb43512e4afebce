using System.Diagnostics.Metrics;
using ActorThrottle.Configuration;
using ActorThrottle.Diagnostics;
using Akka.Hosting;
using Akka.Logger.Serilog;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ActorThrottle.Hosting;

/// <summary>Adds ActorThrottle to an Akka.Hosting actor system.</summary>
public static class ActorThrottleHostingExtensions
{
    /// <summary>
    /// Starts ActorThrottle's router with the actor system and registers it in the <c>ActorRegistry</c> under
    /// <see cref="ActorThrottleRouter"/>. Settings come from the system's HOCON (<c>actor-throttle { … }</c>) over
    /// the reference configuration; the arguments given here win over both.
    /// </summary>
    /// <param name="endpoint">Default base URL; null keeps HOCON's (reference: <c>https://api.cometapi.com/v1</c>).</param>
    /// <param name="apiKey">API key for <paramref name="endpoint"/>'s host only; null keeps HOCON's, else the host's own variable (COMETAPI_KEY for api.cometapi.com, OPENAI_API_KEY for api.openai.com).</param>
    /// <param name="requestsPerSecond">Default rate per model; null keeps HOCON's (reference: auto, found from the provider's headers or probed).</param>
    public static AkkaConfigurationBuilder WithActorThrottle(this AkkaConfigurationBuilder builder,
        string? endpoint = null, string? apiKey = null, double? requestsPerSecond = null)
    {
        var options = new ActorThrottleOptions { Endpoint = endpoint, ApiKey = apiKey };
        options.Defaults.RequestsPerSecond = requestsPerSecond;
        return builder.WithActorThrottle(options);
    }

    /// <summary>
    /// As <see cref="WithActorThrottle(AkkaConfigurationBuilder, ActorThrottleOptions)"/>, with the settings bound from
    /// <paramref name="section"/> (appsettings.json, environment variables, any <c>IConfiguration</c>) — see
    /// <see cref="ActorThrottleOptions.FromConfiguration"/> — and then <paramref name="configure"/> in code, which wins.
    /// </summary>
    public static AkkaConfigurationBuilder WithActorThrottle(this AkkaConfigurationBuilder builder, IConfigurationSection section,
        Action<ActorThrottleOptions>? configure = null)
    {
        var options = ActorThrottleOptions.FromConfiguration(section);
        configure?.Invoke(options);
        return builder.WithActorThrottle(options);
    }

    /// <summary>As <see cref="WithActorThrottle(AkkaConfigurationBuilder, ActorThrottleOptions)"/>, configured in code.</summary>
    public static AkkaConfigurationBuilder WithActorThrottle(this AkkaConfigurationBuilder builder, Action<ActorThrottleOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var options = new ActorThrottleOptions();
        configure(options);
        return builder.WithActorThrottle(options);
    }

    /// <summary>
    /// Adds <paramref name="options"/> as HOCON in front of the system's config, the reference configuration as its
    /// fallback, the host's <c>ILoggerFactory</c> as the sink of Akka's logs and the engine's (Serilog with
    /// <see cref="ActorThrottleOptions.UseSerilog"/>), and starts the router. Invalid settings fail the host's start with an
    /// <see cref="ActorThrottleConfigurationException"/> that names the HOCON path. Cluster mode
    /// (<c>actor-throttle.cluster.enabled = on</c>) needs <c>WithActorThrottleCluster</c> from the ActorThrottle.Cluster
    /// package instead; here it fails the start.
    /// </summary>
    public static AkkaConfigurationBuilder WithActorThrottle(this AkkaConfigurationBuilder builder, ActorThrottleOptions options) =>
        builder.WithActorThrottleCore(options, (system, settings, environment, name) => ActorThrottleEngine.Start(system, settings, environment, name));

    /// <summary>
    /// The registration shared with ActorThrottle.Cluster: the same HOCON, logging and registry entry, with the engine
    /// started by <paramref name="start"/> (the cluster package passes its sharded start).
    /// </summary>
    internal static AkkaConfigurationBuilder WithActorThrottleCore(this AkkaConfigurationBuilder builder, ActorThrottleOptions options,
        Func<Akka.Actor.ActorSystem, ActorThrottleSettings, ThrottleEnvironment, string, ActorThrottleEngine> start)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.ActorName, nameof(options.ActorName));

        builder.AddHocon(options.ToConfig(), HoconAddMode.Prepend);
        builder.AddHocon(ActorThrottleSettings.Reference, HoconAddMode.Append);
        builder.ConfigureLoggers(loggers =>
        {
            loggers.ClearLoggers();
            if (options.UseSerilog)
            {
                loggers.AddLogger<SerilogLogger>();
            }
            else
            {
                // Akka.Hosting's bridge: Akka's own logs go to the host's ILoggerFactory, where the engine's go too.
                loggers.AddLoggerFactory();
            }
        });
        return builder.WithActors((system, registry, resolver) =>
        {
            ActorThrottleSettings settings;
            try
            {
                settings = ActorThrottleSettings.FromConfig(system.Settings.Config);
            }
            catch (ActorThrottleConfigurationException e) when (options.ConfigurationPaths is { } paths)
            {
                throw ActorThrottleConfigurationBinder.WithConfigurationPath(e, paths, options.ConfigurationSectionPath!);
            }
            var environment = options.Environment ?? new ThrottleEnvironment();
            if (!options.UseSerilog && environment.Logger is null && environment.LoggerFactory is null && resolver.GetService<ILoggerFactory>() is { } loggerFactory)
            {
                environment = environment with { LoggerFactory = loggerFactory };
            }
            if (environment.Metrics is null && resolver.GetService<IMeterFactory>() is { } meters)
            {
                environment = environment with { Metrics = new ActorThrottleMetrics(meters) };
            }
            var engine = start(system, settings, environment, options.ActorName);
            registry.Register<ActorThrottleRouter>(engine.Router);
            if (options.ConfigurationSection is not null)
            {
                // IOptionsMonitor over the bound section: a changed limit reaches the running models.
                var reload = new ActorThrottleConfigurationReload(options, system, engine.Router, settings, environment.ResolveLogger());
                // The system holds the reload (through this callback) for as long as it runs.
                system.RegisterOnTermination(reload.Dispose);
            }
        });
    }

    /// <summary>
    /// Registers <see cref="ActorThrottleClient"/> (the typed facade) for injection. Call it next to <c>AddAkka</c>
    /// when the app uses <see cref="WithActorThrottle(AkkaConfigurationBuilder, ActorThrottleOptions)"/>.
    /// </summary>
    public static IServiceCollection AddActorThrottleClient(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        // Resolved on first use: the registry is filled only once the actor system has started, and the client may be
        // injected into services built before that.
        services.AddSingleton(sp =>
        {
            var router = sp.GetRequiredService<IRequiredActor<ActorThrottleRouter>>();
            return new ActorThrottleClient(ct => router.GetAsync(ct));
        });
        return services;
    }
}
