namespace ActorThrottle.Models;

/// <summary>Ask the router for a model's current state; answered with <see cref="ModelStatus"/> (or nothing known: null fields).</summary>
public sealed record GetModelStatus(string Model);

/// <summary>A model's state: what it holds and what the throttle currently allows.</summary>
/// <param name="Pending">Requests accepted and not yet answered (queued, in flight or waiting to retry).</param>
/// <param name="Burst">The burst window AIMD has set.</param>
/// <param name="Rate">The rate AIMD has set, requests per second.</param>
/// <param name="PausedUntil">Until when the model's throttle is paused (provider hints); null when it is not.</param>
public sealed record ModelStatus(string Model, int Pending, int Burst, double Rate, DateTimeOffset? PausedUntil, long Answered)
{
    /// <summary>The token rate AIMD has set, tokens per minute; 0 when the model has no token budget.</summary>
    public double TokensPerMinute { get; init; }

    /// <summary>The last minute's attempts by outcome and admission rejections (what health checks judge by).</summary>
    public RecentAttempts Recent { get; init; } = RecentAttempts.None;

    /// <summary>
    /// How the rate was found: <c>configured</c> (the configured number, a ceiling), <c>seeded from headers</c> (a limit the
    /// provider advertised) or <c>probed</c> (<c>requests-per-second = auto</c>, slow start and probing). Null when unknown.
    /// </summary>
    public string? RateFoundBy { get; init; }

    /// <summary>How many times the model's throttle settings changed (each logged once with its reason).</summary>
    public long RateChanges { get; init; }

    /// <summary>
    /// Calls the model lets into flight at once: <c>max-in-flight</c>, or lower while a provider's concurrency cap is being
    /// honoured (429s with no rate header that come only at high in-flight levels). 0 when not known.
    /// </summary>
    public int InFlightLimit { get; init; }

    /// <summary>
    /// A model with <c>deployments</c>: each deployment's state, in the order of the list (then <see cref="Rate"/> is the
    /// sum of the available deployments' rates and <see cref="Pending"/> counts the model's queue and what they hold);
    /// null for a model with one endpoint.
    /// </summary>
    public IReadOnlyList<DeploymentStatus>? Deployments { get; init; }

    /// <summary>
    /// The limits in force (configured, or set at run time with <c>SetLimitsAsync</c> / a configuration reload), every
    /// field filled; null when not known.
    /// </summary>
    public Limits.ModelLimits? Limits { get; init; }
}
