namespace ActorThrottle.Limits;

/// <summary>
/// The limits were not applied (none of them): <paramref name="Field"/> is the HOCON key at fault (<c>max-burst</c>),
/// <c>model</c> for an unknown model, <c>deployments</c> for a model with deployments when none was named, or
/// <c>deployment</c> for a deployment the model does not list; <paramref name="Message"/> says why.
/// </summary>
public sealed record ModelLimitsRejected(string Model, string Field, string Message) : ModelLimitsReply(Model);
