using ActorThrottle.Backend;
using ActorThrottle.Configuration;
using ActorThrottle.Diagnostics;
using ActorThrottle.Messages;
using ActorThrottle.Models;
using ActorThrottle.Routing;
using Akka.Actor;

namespace ActorThrottle;

/// <summary>
/// ActorThrottle running inside an actor system: the router actor, its settings and metrics, and a typed way
/// to ask. Create it with <see cref="Start"/>; it registers itself with CoordinatedShutdown so queued requests
/// are answered <see cref="FailureReason.ShuttingDown"/> and calls in flight may finish within <c>shutdown-grace</c>.
/// </summary>
public sealed class ActorThrottleEngine
{
    private ActorThrottleEngine(IActorRef router, ActorThrottleSettings settings, ActorThrottleMetrics metrics)
    {
        Router = router;
        Client = new ActorThrottleClient(router);
        Settings = settings;
        Metrics = metrics;
    }

    /// <summary>The router: send it <see cref="ChatRequest"/>, <see cref="CancelRequest"/> and <see cref="GetModelStatus"/>.</summary>
    public IActorRef Router { get; }

    public ActorThrottleSettings Settings { get; }

    public ActorThrottleMetrics Metrics { get; }

    /// <summary>
    /// Starts the router under <paramref name="system"/>.
    /// </summary>
    /// <param name="system">The host's actor system.</param>
    /// <param name="settings">Validated settings; default: read from <paramref name="system"/>'s config over the reference.</param>
    /// <param name="environment">Backend, clock, randomness, logging, metrics; defaults as documented on <see cref="ThrottleEnvironment"/>.</param>
    /// <param name="name">The router's actor name; default <c>actor-throttle</c>.</param>
    /// <exception cref="ActorThrottleConfigurationException">With the built-in HTTP backend, a model has no API key for its endpoint (see <see cref="ActorThrottleSettings.StartupFindings"/>).</exception>
    /// <exception cref="InvalidOperationException"><c>actor-throttle.cluster.enabled = on</c>: start it with <c>ActorThrottleCluster.Start</c> (package ActorThrottle.Cluster).</exception>
    public static ActorThrottleEngine Start(ActorSystem system, ActorThrottleSettings? settings = null, ThrottleEnvironment? environment = null, string name = "actor-throttle")
    {
        ArgumentNullException.ThrowIfNull(system);
        settings ??= ActorThrottleSettings.FromConfig(system.Settings.Config);
        if (settings.Cluster.Enabled)
        {
            throw new InvalidOperationException(
                "actor-throttle.cluster.enabled = on: start ActorThrottle with ActorThrottleCluster.Start(...) from the ActorThrottle.Cluster package " +
                "(with Akka.Hosting: WithActorThrottleCluster(...) instead of WithActorThrottle(...)).");
        }
        return StartCore(system, settings, environment, name, shardRegion: null);
    }

    /// <summary>
    /// Starts the router; with <paramref name="shardRegion"/> (cluster mode) the models live in the shard region it
    /// returns, built from the engine's environment, backend factory and metrics.
    /// </summary>
    internal static ActorThrottleEngine StartCore(ActorSystem system, ActorThrottleSettings? settings, ThrottleEnvironment? environment, string name,
        Func<ActorThrottleSettings, ThrottleEnvironment, IChatBackendFactory, ActorThrottleMetrics, IActorRef>? shardRegion)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        settings ??= ActorThrottleSettings.FromConfig(system.Settings.Config);
        environment ??= new ThrottleEnvironment();
        var metrics = environment.Metrics ?? new ActorThrottleMetrics();
        var backends = environment.BackendFactory ?? new OpenAIChatBackendFactory(time: environment.Time);
        var log = environment.ResolveLogger().ForContext<ActorThrottleEngine>();
        // A model with no key for its endpoint cannot work over HTTP: fail the start, naming the path to set. A custom
        // backend (a test double, an in-process model) may need no key, so it only gets the warnings.
        if (backends is OpenAIChatBackendFactory && settings.StartupFindings.FirstOrDefault(f => f.IsError) is { } error)
        {
            if (environment.BackendFactory is null && backends is IDisposable owned)
            {
                owned.Dispose();
            }
            throw error.ToException();
        }
        foreach (var warning in settings.StartupFindings.Where(f => !f.IsError))
        {
            log.Warning("ActorThrottle configuration at {Path:l}: {Problem:l}", warning.Path, warning.Message);
        }
        var region = shardRegion?.Invoke(settings, environment, backends, metrics);
        var router = system.ActorOf(ThrottleRouter.Props(settings, environment, backends, metrics, region), name);
        if (settings.UnknownKeys.Count > 0)
        {
            log.Warning("Ignored unknown ActorThrottle settings (misspelt?): {UnknownKeys}", settings.UnknownKeys);
        }

        var shutdownTimeout = settings.ShutdownGrace + TimeSpan.FromSeconds(5);
        CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseServiceRequestsDone, $"{name}-answer-pending", async () =>
        {
            try
            {
                await router.Ask<ThrottleShutdownComplete>(ShutdownThrottle.Instance, shutdownTimeout).ConfigureAwait(false);
            }
            catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
            {
                // The supervisors' PostStop answers whatever is left when the system stops.
            }
            if (backends is IDisposable disposable && environment.BackendFactory is null)
            {
                disposable.Dispose();
            }
            return Akka.Done.Instance;
        });
        return new ActorThrottleEngine(router, settings, metrics);
    }

    /// <summary>The typed facade over <see cref="Router"/>.</summary>
    public ActorThrottleClient Client { get; }

    /// <inheritdoc cref="ActorThrottleClient.CompleteAsync(ChatRequest, CancellationToken)"/>
    public Task<ChatReply> CompleteAsync(ChatRequest request, CancellationToken cancellationToken = default) =>
        Client.CompleteAsync(request, cancellationToken);

    /// <inheritdoc cref="ActorThrottleClient.GetStatusAsync"/>
    public Task<ModelStatus> GetStatusAsync(string model, TimeSpan? timeout = null) => Client.GetStatusAsync(model, timeout);

    /// <inheritdoc cref="ActorThrottleClient.SetLimitsAsync(string, Limits.ModelLimits, TimeSpan?)"/>
    public Task<ModelStatus> SetLimitsAsync(string model, Limits.ModelLimits limits, TimeSpan? timeout = null) => Client.SetLimitsAsync(model, limits, timeout);

    /// <inheritdoc cref="ActorThrottleClient.SetLimitsAsync(string, string, Limits.ModelLimits, TimeSpan?)"/>
    public Task<ModelStatus> SetLimitsAsync(string model, string deployment, Limits.ModelLimits limits, TimeSpan? timeout = null) =>
        Client.SetLimitsAsync(model, deployment, limits, timeout);
}
