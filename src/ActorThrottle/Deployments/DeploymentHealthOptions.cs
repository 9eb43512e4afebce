namespace ActorThrottle.Deployments;

/// <summary>The thresholds of <see cref="DeploymentHealth"/>.</summary>
/// <param name="FailuresInARow">Transient failures (no HTTP answer, 5xx, 408) in a row that cool a deployment down.</param>
/// <param name="RateLimitedInARow">429s in a row (no success between) that make a storm.</param>
/// <param name="CoolDown">The first cool-down.</param>
/// <param name="MaxCoolDown">The longest one.</param>
internal sealed record DeploymentHealthOptions(int FailuresInARow, int RateLimitedInARow, TimeSpan CoolDown, TimeSpan MaxCoolDown)
{
    /// <summary>
    /// Three failures in a row, thirty 429s in a row (429s are the throttle's business: they slow the deployment and a run of
    /// them pauses it, which takes it out too; thirty with no success between is a provider refusing everything), 2 s doubling up to 60 s.
    /// </summary>
    public static readonly DeploymentHealthOptions Default = new(3, 30, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(60));
}
