using ActorThrottle.Adaptation;
using ActorThrottle.Backend;
using ActorThrottle.Configuration;
using ActorThrottle.Diagnostics;
using ActorThrottle.Messages;
using ActorThrottle.Models;
using ActorThrottle.Routing;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Configuration;
using AkkaCluster = Akka.Cluster.Cluster;

namespace ActorThrottle.Cluster;

/// <summary>
/// Starts ActorThrottle in cluster mode: each model's supervisor (its ledger, AIMD state, ModelActor and throttle)
/// is a Cluster Sharding entity keyed by model id, so exactly one throttle per model exists in the whole cluster.
/// The router on every node validates requests and forwards them to the shard region; callers' <c>Ask</c> is
/// unchanged. When a model moves (rebalance, a node leaving), requests it has not sent are re-delivered to its next
/// incarnation, calls in flight finish within <c>shutdown-grace</c>, and the new incarnation starts from
/// <c>cluster.start-burst-fraction</c> of <c>max-burst</c>.
/// </summary>
public static class ActorThrottleCluster
{
    /// <summary>The sharding type name of the model entities.</summary>
    public const string TypeName = "actor-throttle-model";

    /// <summary>
    /// Starts the router under <paramref name="system"/>; in cluster mode (<c>actor-throttle.cluster.enabled = on</c>)
    /// also the shard region (or, on a node without <c>cluster.role</c>, a proxy). With cluster mode off it is
    /// <see cref="ActorThrottleEngine.Start"/>. The system must use <c>akka.actor.provider = cluster</c> in cluster mode.
    /// </summary>
    public static ActorThrottleEngine Start(ActorSystem system, ActorThrottleSettings? settings = null, ThrottleEnvironment? environment = null, string name = "actor-throttle")
    {
        ArgumentNullException.ThrowIfNull(system);
        settings ??= ActorThrottleSettings.FromConfig(system.Settings.Config);
        if (!settings.Cluster.Enabled)
        {
            return ActorThrottleEngine.Start(system, settings, environment, name);
        }
        if (system is not ExtendedActorSystem extended || extended.Provider is not Akka.Cluster.ClusterActorRefProvider)
        {
            throw new InvalidOperationException("actor-throttle.cluster.enabled = on needs an actor system with akka.actor.provider = cluster.");
        }
        return ActorThrottleEngine.StartCore(system, settings, environment, name,
            (s, env, backends, metrics) => StartRegion(system, s, env, backends, metrics, TypeNameFor(name)));
    }

    // One sharding type per router name, so two engines in one system do not share entities.
    internal static string TypeNameFor(string routerName) => routerName == "actor-throttle" ? TypeName : $"{TypeName}-{routerName}";

    private static IActorRef StartRegion(ActorSystem system, ActorThrottleSettings settings, ThrottleEnvironment environment,
        IChatBackendFactory backends, ActorThrottleMetrics metrics, string typeName)
    {
        var sharding = ClusterSharding.Get(system);
        var cluster = AkkaCluster.Get(system);
        var role = settings.Cluster.Role;
        var extractor = new ModelMessageExtractor(settings.Cluster.NumberOfShards);
        if (role.Length > 0 && !cluster.SelfRoles.Contains(role))
        {
            return StartRelay(system, sharding.StartProxy(typeName, role, extractor), settings, typeName);
        }

        // A model's supervisor holds learned AIMD state: do not passivate it when idle (a move restarts it conservatively).
        var shardingConfig = ConfigurationFactory.ParseString("passivate-idle-entity-after = off")
            .WithFallback(system.Settings.Config.GetConfig("akka.cluster.sharding"));
        var singletonConfig = system.Settings.Config.GetConfig(shardingConfig.GetString("coordinator-singleton"));
        var shardingSettings = ClusterShardingSettings.Create(shardingConfig, singletonConfig);
        if (role.Length > 0)
        {
            shardingSettings = shardingSettings.WithRole(role);
        }

        IActorRef? region = null;
        void Redeliver(object message, IActorRef replyTo)
        {
            if (region is not null && CanHost(system, cluster, role))
            {
                region.Tell(message, replyTo);
            }
            else if ((message as ChatRequest ?? (message as ClusterRequest)?.Request ?? (message as ChatStreamRequest)?.Request
                         ?? (message as FallbackRequest)?.Request) is { } request)
            {
                replyTo.Tell(new ChatFailure(request.RequestId, FailureReason.ShuttingDown,
                    "The model's node left the cluster and no other node can take the model over.", 0));
            }
        }

        // A fallback goes to the other model's own entity, through the region: the entity's parent is its shard, which would
        // start the other model inside itself (a second throttle for it).
        void ToOtherModel(object message, IActorRef sender) => region!.Tell(message, sender);

        Props EntityProps(string modelId)
        {
            var modelSettings = settings.ForModel(modelId);
            if (modelSettings is null)
            {
                return UnavailableModel.Props(modelId, FailureReason.UnknownModel,
                    $"Model '{modelId}' is not configured under actor-throttle.models and actor-throttle.unknown-models = reject.");
            }
            IReadOnlyList<IChatBackend> modelBackends;
            try
            {
                // A model with deployments: its balancer is the entity, with every deployment (and its limit) inside it,
                // so the per-deployment limits hold across nodes too.
                modelBackends = modelSettings.Deployments.Count == 0 ? [backends.Create(modelSettings)]
                    : modelSettings.Deployments.Select(d => backends.Create(d.Settings)).ToList();
            }
            catch (Exception e)
            {
                return UnavailableModel.Props(modelId, FailureReason.Permanent,
                    $"Could not create the backend for model '{modelId}': {e.GetType().Name}: {e.Message}");
            }
            return modelSettings.Deployments.Count == 0
                ? ModelSupervisor.Props(modelSettings, environment, modelBackends[0], metrics, settings.ShutdownGrace,
                    ConservativeStart(modelSettings, settings.Cluster.StartBurstFraction), Redeliver, ToOtherModel)
                : Deployments.DeploymentBalancer.Props(modelSettings, environment, modelBackends, metrics, settings.ShutdownGrace, redeliver: Redeliver,
                    start: deployment => ConservativeStart(deployment, settings.Cluster.StartBurstFraction), otherModels: ToOtherModel);
        }

        region = sharding.Start(typeName, EntityProps, shardingSettings, extractor,
            sharding.DefaultShardAllocationStrategy(shardingSettings), HandOffModel.Instance);
        return StartRelay(system, region, settings, typeName);
    }

    // The router forwards to the relay, which tracks each request until its reply and re-sends on node removal.
    private static IActorRef StartRelay(ActorSystem system, IActorRef region, ActorThrottleSettings settings, string typeName)
    {
        var relay = system.ActorOf(ClusterRelay.Props(region, settings.ShutdownGrace), $"{typeName}-relay");
        var timeout = settings.ShutdownGrace + TimeSpan.FromSeconds(2);
        CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseServiceRequestsDone, $"{typeName}-relay-drain", async () =>
        {
            try
            {
                await relay.Ask<Akka.Done>(ClusterRelay.DrainRelay.Instance, timeout).ConfigureAwait(false);
            }
            catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
            {
                // The relay's PostStop answers whatever is left.
            }
            return Akka.Done.Instance;
        });
        return relay;
    }

    /// <summary>The AIMD state a model's entity starts from: a fraction of max-burst (never below min-burst) at the configured rate.</summary>
    internal static AimdState ConservativeStart(ModelSettings model, double burstFraction) =>
        new(Math.Clamp((int)Math.Floor(model.MaxBurst * burstFraction), model.MinBurst, model.MaxBurst), model.RequestsPerSecond);

    // Re-delivery makes sense while some node can host the model: another Up member with the role, or this one
    // when it is not shutting down (passivation, a rebalance to elsewhere).
    private static bool CanHost(ActorSystem system, AkkaCluster cluster, string role)
    {
        var selfStaying = CoordinatedShutdown.Get(system).ShutdownReason is null && cluster.SelfMember.Status == Akka.Cluster.MemberStatus.Up;
        return cluster.State.Members.Any(m =>
            m.Status == Akka.Cluster.MemberStatus.Up
            && (role.Length == 0 || m.HasRole(role))
            && (!m.Address.Equals(cluster.SelfAddress) || selfStaying));
    }
}
