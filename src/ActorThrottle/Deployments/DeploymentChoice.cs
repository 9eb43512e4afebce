namespace ActorThrottle.Deployments;

/// <summary>
/// Which deployment of a model takes the next request, as pure functions of each deployment's state and the instant.
/// A deployment holds at most <see cref="Capacity"/> requests (what it can send in about a second plus what its calls
/// keep in flight), so the balancer's queue keeps the rest and a deployment that gets into trouble holds little.
/// </summary>
internal static class DeploymentChoice
{
    /// <summary>How many seconds of its rate a deployment may hold beyond its calls in flight.</summary>
    public const double BufferSeconds = 1.0;

    /// <summary>
    /// The most requests a deployment may hold: its rate over <see cref="BufferSeconds"/> plus the typical call's duration
    /// (Little's law: rate × latency are in flight at that rate), at least 2 so a slow start is never starved, and at most
    /// <paramref name="queueSize"/>.
    /// </summary>
    public static int Capacity(double rate, TimeSpan latency, int queueSize)
    {
        var seconds = BufferSeconds + Math.Max(0, latency.TotalSeconds);
        var capacity = Math.Ceiling(Math.Max(0, rate) * seconds);
        return (int)Math.Clamp(capacity, 2, Math.Max(2, queueSize));
    }

    /// <summary>
    /// The deployment that can send a request soonest, or null when none can take one now: among those available (not
    /// cooled down or paused at <paramref name="now"/>), with room, and not <paramref name="excluded"/>, the lowest priority
    /// number; among those, the least time to drain what it holds plus this request at its rate × weight
    /// ((held + 1) / (rate × weight)); ties go to the lower index.
    /// </summary>
    public static int? Choose(IReadOnlyList<DeploymentView> deployments, DateTimeOffset now, Func<int, bool>? excluded = null)
    {
        DeploymentView? best = null;
        var bestWait = double.PositiveInfinity;
        foreach (var d in deployments)
        {
            if (d.IsUnavailable(now) || d.Room <= 0 || (excluded?.Invoke(d.Index) ?? false))
            {
                continue;
            }
            var wait = (d.Held + 1) / Math.Max(1e-9, d.Rate * d.Weight);
            if (best is null || d.Priority < best.Priority
                || (d.Priority == best.Priority && (wait < bestWait || (wait == bestWait && d.Index < best.Index))))
            {
                best = d;
                bestWait = wait;
            }
        }
        return best?.Index;
    }

    /// <summary>How much sooner (seconds) another deployment must be able to send a request before unsent work moves to it.</summary>
    public const double StealMargin = 0.25;

    /// <summary>
    /// With the model's queue empty: the deployment to take unsent work back from, so that it goes to one that would send
    /// it sooner — or null. At the end of a backlog a slow deployment (an <c>auto</c> one still low, one 429s slowed) may
    /// hold a second of its rate while a fast one has nothing left (measured: the known 20/s deployment idle for the last
    /// 0.7 s while the learning one sent its last 2–4 requests at 2.7/s). The source is the available deployment that
    /// needs longest to drain what it holds (held ÷ rate × weight); the target the available one,
    /// not probing, with room, of the same or a lower priority number, that could send one more soonest. Work moves when
    /// the source's drain exceeds the target's by more than <see cref="StealMargin"/>. Only what the source has not sent
    /// comes back, so a source whose held requests are all in flight gives nothing.
    /// </summary>
    public static int? StealFrom(IReadOnlyList<DeploymentView> deployments, DateTimeOffset now)
    {
        DeploymentView? source = null;
        var longest = 0.0;
        foreach (var d in deployments)
        {
            var drain = d.Held / Math.Max(1e-9, d.Rate * d.Weight);
            if (!d.IsUnavailable(now) && d.Held > 0 && (source is null || drain > longest))
            {
                source = d;
                longest = drain;
            }
        }
        if (source is null)
        {
            return null;
        }
        foreach (var d in deployments)
        {
            if (d.Index == source.Index || d.IsUnavailable(now) || d.Probing || d.Room <= 0 || d.Priority > source.Priority)
            {
                continue;
            }
            if (longest - (d.Held + 1) / Math.Max(1e-9, d.Rate * d.Weight) > StealMargin)
            {
                return source.Index;
            }
        }
        return null;
    }

    /// <summary>
    /// True when no deployment outside <paramref name="excluded"/> is left for a request: every one has already exhausted
    /// its retries on it, so it goes to the model's fallbacks (or fails).
    /// </summary>
    public static bool Exhausted(IReadOnlyList<DeploymentView> deployments, Func<int, bool> excluded) =>
        deployments.All(d => excluded(d.Index));
}
