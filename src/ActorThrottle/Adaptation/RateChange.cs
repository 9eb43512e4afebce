namespace ActorThrottle.Adaptation;

/// <summary>One change of a model's throttle settings, with its instant and its reason: the answer to "why did the rate drop at 12:03:04".</summary>
/// <param name="Detail">The evidence in words (e.g. the accepted rate settled under, the share of attempts rejected).</param>
internal sealed record RateChange(DateTimeOffset At, ThrottleSettings Before, ThrottleSettings After, RateChangeReason Reason, string Detail);
