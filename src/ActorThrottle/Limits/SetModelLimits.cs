namespace ActorThrottle.Limits;

/// <summary>
/// Ask the router to change a running model's limits (<see cref="ModelLimits"/>): answered with exactly one
/// <see cref="ModelLimitsReply"/> — <see cref="ModelLimitsSet"/> with the model's status once applied, or
/// <see cref="ModelLimitsRejected"/> naming the field (nothing is applied then). A configured model that has not started
/// yet is started, so the limits hold from its first request. Requests already accepted are kept and answered.
/// </summary>
public sealed record SetModelLimits(string Model, ModelLimits Limits);
