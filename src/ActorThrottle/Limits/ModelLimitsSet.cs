using ActorThrottle.Models;

namespace ActorThrottle.Limits;

/// <summary>The limits were applied; <paramref name="Status"/> is the model's state right after.</summary>
public sealed record ModelLimitsSet(string Model, ModelStatus Status) : ModelLimitsReply(Model);
