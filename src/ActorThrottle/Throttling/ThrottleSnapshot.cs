namespace ActorThrottle.Throttling;

/// <summary>The throttle's settings as last applied, readable from any thread.</summary>
internal sealed record ThrottleSnapshot(double Rate, int Burst, long TokensPerMinute, DateTimeOffset PausedUntil);
