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
    public static ActorThrottleEngine Start(ActorSystem system, ActorThrottleSettings? settings = null, ThrottleEnvironment? environment = null, string name = "actor-throttle")
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        settings ??= ActorThrottleSettings.FromConfig(system.Settings.Config);
        environment ??= new ThrottleEnvironment();
        var metrics = environment.Metrics ?? new ActorThrottleMetrics();
        var backends = environment.BackendFactory ?? new OpenAIChatBackendFactory(time: environment.Time);
        var router = system.ActorOf(ThrottleRouter.Props(settings, environment, backends, metrics), name);

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

    /// <summary>
    /// Sends <paramref name="request"/> and waits for its one reply. Cancelling <paramref name="cancellationToken"/>
    /// withdraws the request: the reply is then a <see cref="FailureReason.Cancelled"/> failure (or the answer, if it
    /// was already on its way).
    /// </summary>
    public async Task<ChatReply> CompleteAsync(ChatRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var reply = Router.Ask<ChatReply>(request, timeout: null);
        if (!cancellationToken.CanBeCanceled)
        {
            return await reply.ConfigureAwait(false);
        }
        await using var registration = cancellationToken.Register(() => Router.Tell(new CancelRequest(request.Model, request.RequestId))).ConfigureAwait(false);
        return await reply.ConfigureAwait(false);
    }

    /// <summary>A model's current burst window, rate and pending count.</summary>
    public Task<ModelStatus> GetStatusAsync(string model, TimeSpan? timeout = null) =>
        Router.Ask<ModelStatus>(new GetModelStatus(model), timeout ?? TimeSpan.FromSeconds(5));
}
