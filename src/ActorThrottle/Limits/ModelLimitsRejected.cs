namespace ActorThrottle.Limits;

/// <summary>
/// The limits were not applied (none of them): <paramref name="Field"/> is the HOCON key at fault (<c>max-burst</c>) or
/// <c>model</c> for an unknown model, and <paramref name="Message"/> says why.
/// </summary>
public sealed record ModelLimitsRejected(string Model, string Field, string Message) : ModelLimitsReply(Model);
