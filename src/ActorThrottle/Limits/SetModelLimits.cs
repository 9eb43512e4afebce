namespace ActorThrottle.Limits;

/// <summary>
/// Ask the router to change a running model's limits (<see cref="ModelLimits"/>): answered with exactly one
/// <see cref="ModelLimitsReply"/> — <see cref="ModelLimitsSet"/> with the model's status once applied, or
/// <see cref="ModelLimitsRejected"/> naming the field (nothing is applied then). A configured model that has not started
/// yet is started, so the limits hold from its first request. Requests already accepted are kept and answered.
/// </summary>
/// <param name="Deployment">
/// For a model that lists <c>deployments</c>: the name of the one deployment whose limits change (each has its own; the
/// reply's status is that deployment's, its <c>Model</c> <c>model@name</c>). Required for such a model, and must be null
/// for any other (<see cref="ModelLimitsRejected.Field"/> <c>deployment</c> otherwise).
/// </param>
public sealed record SetModelLimits(string Model, ModelLimits Limits, string? Deployment = null);
