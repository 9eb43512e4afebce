namespace ActorThrottle.Models;

/// <summary>
/// What a model's recent attempts amounted to (the last <see cref="RecentOutcomes.Window"/>, at most
/// <see cref="RecentOutcomes.Capacity"/> attempts): the facts a health check judges by.
/// </summary>
/// <param name="Attempts">Calls answered in the window.</param>
/// <param name="Successes">Completions.</param>
/// <param name="RateLimited">429 <c>rate_limit_exceeded</c> (or without a code).</param>
/// <param name="NoResponse">Calls that got no HTTP answer: connection refused or reset, DNS, timeouts.</param>
/// <param name="OtherFailures">Other transient (5xx), permanent (4xx) and quota failures.</param>
/// <param name="QueueFull">Requests turned away at admission because the model's queue was full.</param>
public sealed record RecentAttempts(int Attempts, int Successes, int RateLimited, int NoResponse, int OtherFailures, int QueueFull)
{
    /// <summary>Nothing happened in the window.</summary>
    public static RecentAttempts None { get; } = new(0, 0, 0, 0, 0, 0);
}
