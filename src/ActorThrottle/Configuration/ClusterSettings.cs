namespace ActorThrottle.Configuration;

/// <summary>
/// <c>actor-throttle.cluster</c>: with <see cref="Enabled"/>, each model's supervisor (ledger, AIMD state, throttle)
/// is a Cluster Sharding entity keyed by model id, so exactly one exists in the cluster and the provider's per-model
/// limit holds however many nodes send work. Needs the ActorThrottle.Cluster package and <c>akka.actor.provider = cluster</c>.
/// </summary>
/// <param name="Enabled">Cluster mode on (default off: each actor system throttles on its own).</param>
/// <param name="Role">Only nodes with this Akka.Cluster role host model entities; others forward through a proxy. Empty: every node.</param>
/// <param name="NumberOfShards">Shards the model ids are hashed into; keep it equal on every node, about 10× the most nodes.</param>
/// <param name="StartBurstFraction">An entity starts (on first use and after every move) with this fraction of <c>max-burst</c> (never below <c>min-burst</c>); AIMD grows it back.</param>
public sealed record ClusterSettings(bool Enabled, string Role, int NumberOfShards, double StartBurstFraction);
