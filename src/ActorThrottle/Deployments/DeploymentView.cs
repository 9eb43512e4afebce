namespace ActorThrottle.Deployments;

/// <summary>What the balancer knows of one deployment at an instant: the input of <see cref="DeploymentChoice"/>.</summary>
/// <param name="Index">Its position in the model's <c>deployments</c> list.</param>
/// <param name="Priority">Lower first: a higher number gets work only while every lower one is unavailable or full.</param>
/// <param name="Weight">Scales its rate in the choice (2: treated as if it sent twice as fast).</param>
/// <param name="Rate">The rate its own throttle holds now (learned or configured), requests per second.</param>
/// <param name="Held">Requests handed to it and not yet answered or taken back (queued there, in flight, waiting to retry).</param>
/// <param name="Capacity">The most it may hold (<see cref="DeploymentChoice.Capacity"/>).</param>
/// <param name="UnavailableUntil">Cooled down or paused until then; null when neither.</param>
/// <param name="Probing">Back from a cool-down and not yet answered with a success: it gets one request at a time.</param>
internal sealed record DeploymentView(int Index, int Priority, double Weight, double Rate, int Held, int Capacity, DateTimeOffset? UnavailableUntil = null, bool Probing = false)
{
    /// <summary>True when it may not take work at <paramref name="now"/> (cooled down or paused).</summary>
    public bool IsUnavailable(DateTimeOffset now) => UnavailableUntil is { } until && until > now;

    /// <summary>How many more requests it may take now.</summary>
    public int Room => Math.Max(0, (Probing ? 1 : Capacity) - Held);
}
