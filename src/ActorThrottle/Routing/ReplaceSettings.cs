using ActorThrottle.Configuration;

namespace ActorThrottle.Routing;

/// <summary>
/// A configuration reload → the router: models started from now on use <paramref name="Settings"/>. Answered with
/// <see cref="RunningModels"/>: the ids whose supervisors run here (local mode) — the reload sends each its changed limits.
/// </summary>
internal sealed record ReplaceSettings(ActorThrottleSettings Settings);

/// <summary>The router's models running on this node (none in cluster mode: they live in the shard region).</summary>
internal sealed record RunningModels(IReadOnlyList<string> Models, bool Cluster);
