namespace ActorThrottle.Limits;

/// <summary>The one answer to <see cref="SetModelLimits"/>.</summary>
public abstract record ModelLimitsReply(string Model);
