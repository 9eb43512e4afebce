namespace ActorThrottle.Configuration;

/// <summary>
/// <c>deployment-cool-down</c>: when a deployment of a model with <c>deployments</c> is taken out of the rotation, and for
/// how long. Read from a deployment's block merged over its model's and <c>defaults</c>; a model without deployments
/// ignores it.
/// </summary>
/// <param name="FailuresInARow"><c>failures-in-a-row</c>: transient failures (no HTTP answer, 5xx, 408) in a row that cool a deployment down.</param>
/// <param name="RateLimitedInARow"><c>rate-limited-in-a-row</c>: 429s in a row (no success between) that make a storm.</param>
/// <param name="First"><c>first</c>: the first cool-down; each next one lasts twice the last.</param>
/// <param name="Max"><c>max</c>: the longest cool-down.</param>
public sealed record DeploymentCoolDownSettings(int FailuresInARow, int RateLimitedInARow, TimeSpan First, TimeSpan Max)
{
    /// <summary>
    /// The reference configuration's values: three failures in a row; thirty 429s in a row (429s are the throttle's business:
    /// they slow the deployment and a run of them pauses it, which takes it out too; thirty with no success between is a
    /// provider refusing everything); 2 s doubling up to 60 s.
    /// </summary>
    public static readonly DeploymentCoolDownSettings Default = new(3, 30, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(60));
}
