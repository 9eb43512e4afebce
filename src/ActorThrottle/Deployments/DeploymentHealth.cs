using ActorThrottle.Backend;
using ActorThrottle.Configuration;

namespace ActorThrottle.Deployments;

/// <summary>
/// The cool-down rule of one deployment, on injected instants: a run of failures that are the deployment's (no HTTP
/// answer, 5xx, 408, a bad key or URL) or a storm of 429s takes it out of the rotation for a while, so its queued
/// requests go to the others. The first cool-down lasts <see cref="DeploymentCoolDownSettings.First"/>, each next one
/// twice the last up to <see cref="DeploymentCoolDownSettings.Max"/>; after it the deployment is probed with one
/// request at a time until a success puts it back in full (and resets the doubling). A request's own fault (400, 422,
/// too long) says nothing about the deployment.
/// </summary>
internal sealed class DeploymentHealth(DeploymentCoolDownSettings options)
{
    private int _failures;
    private int _rateLimited;
    private int _coolDowns;

    /// <summary>Out of the rotation until then; null when it never was.</summary>
    public DateTimeOffset? CooledDownUntil { get; private set; }

    /// <summary>Back from a cool-down, waiting for its first success: one request at a time.</summary>
    public bool Probing { get; private set; }

    /// <summary>How many times it was cooled down.</summary>
    public long CoolDowns { get; private set; }

    public bool IsCooledDown(DateTimeOffset now) => CooledDownUntil is { } until && until > now;

    /// <summary>Folds one attempt's outcome in; true when it starts a cool-down.</summary>
    /// <param name="status">The HTTP status, null when there was no HTTP answer.</param>
    public bool Observe(OutcomeKind kind, int? status, DateTimeOffset at)
    {
        switch (kind)
        {
            case OutcomeKind.Success:
                _failures = 0;
                _rateLimited = 0;
                _coolDowns = 0;
                Probing = false;
                return false;
            case OutcomeKind.RateLimited:
                _rateLimited++;
                return Probing || _rateLimited >= options.RateLimitedInARow ? CoolDown(at) : false;
            case OutcomeKind.Transient:
            case OutcomeKind.QuotaExceeded:
            case OutcomeKind.Permanent when IsDeploymentFault(status):
                _failures++;
                return Probing || _failures >= options.FailuresInARow || kind != OutcomeKind.Transient ? CoolDown(at) : false;
            default:
                return false;
        }
    }

    /// <summary>A permanent answer that is the deployment's fault, not the request's: a bad key, no access, a wrong URL.</summary>
    public static bool IsDeploymentFault(int? status) => status is 401 or 403 or 404;

    private bool CoolDown(DateTimeOffset at)
    {
        if (IsCooledDown(at))
        {
            // Answers of calls sent before the cool-down began do not extend it.
            return false;
        }
        var factor = Math.Pow(2, Math.Min(_coolDowns, 30));
        var length = TimeSpan.FromTicks((long)Math.Min(options.Max.Ticks, options.First.Ticks * factor));
        _coolDowns++;
        CoolDowns++;
        _failures = 0;
        _rateLimited = 0;
        Probing = true;
        CooledDownUntil = at + length;
        return true;
    }
}
