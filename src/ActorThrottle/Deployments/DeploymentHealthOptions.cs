namespace ActorThrottle.Deployments;

/// <summary>The thresholds of <see cref="DeploymentHealth"/>.</summary>
/// <param name="FailuresInARow">Transient failures (no HTTP answer, 5xx, 408) in a row that cool a deployment down.</param>
/// <param name="RateLimitedInARow">429s in a row (no success between) that make a storm.</param>
/// <param name="CoolDown">The first cool-down.</param>
/// <param name="MaxCoolDown">The longest one.</param>
internal sealed record DeploymentHealthOptions(int FailuresInARow, int RateLimitedInARow, TimeSpan CoolDown, TimeSpan MaxCoolDown)
{
    /// <summary>
    /// Three failures in a row, eight 429s in a row (a single 429 is the throttle's business: it slows the deployment,
    /// it does not take it out), 2 s doubling up to 60 s.
    /// </summary>
    public static readonly DeploymentHealthOptions Default = new(3, 8, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(60));
}
