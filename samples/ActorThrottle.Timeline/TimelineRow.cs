namespace ActorThrottle.Timeline;

/// <summary>One model's second: <c>[Second, Second + 1)</c> after the run started.</summary>
/// <param name="Attempts">Calls the provider answered in that second (any status, or none).</param>
/// <param name="Accepted">Of those, answered 2xx.</param>
/// <param name="RateLimited">Of those, answered 429.</param>
/// <param name="EngineRate">The engine's release rate (requests/s) last read by then; null before the first read.</param>
public sealed record TimelineRow(int Second, string Model, long Attempts, long Accepted, long RateLimited, double? EngineRate);
