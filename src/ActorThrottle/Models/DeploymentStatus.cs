namespace ActorThrottle.Models;

/// <summary>One deployment of a model with <c>deployments</c>, in its <see cref="ModelStatus.Deployments"/>.</summary>
/// <param name="Name">Its name (what <c>ChatSuccess.Deployment</c> carries).</param>
/// <param name="Endpoint">Its endpoint, in display form (never a key).</param>
/// <param name="Held">Requests handed to it and not answered yet (queued there, in flight, waiting to retry).</param>
/// <param name="Rate">The rate its throttle holds, requests per second (learned, or the configured ceiling).</param>
/// <param name="Answered">Requests it answered.</param>
/// <param name="Successes">Of those, successes.</param>
/// <param name="UnavailableUntil">Cooled down (a run of failures, a 429 storm) or paused until then; null when it takes work.</param>
public sealed record DeploymentStatus(string Name, int Index, int Priority, double Weight, string Endpoint, int Held, double Rate, long Answered, long Successes,
    DateTimeOffset? UnavailableUntil)
{
    /// <summary>How many times it was cooled down.</summary>
    public long CoolDowns { get; init; }

    /// <summary>How its rate was found: <c>configured</c>, <c>seeded from headers</c> or <c>probed</c>; null before its first report.</summary>
    public string? RateFoundBy { get; init; }

    /// <summary>The last minute's attempts on it by outcome.</summary>
    public RecentAttempts Recent { get; init; } = RecentAttempts.None;
}
