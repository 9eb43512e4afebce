namespace ActorThrottle.Adaptation;

/// <summary>
/// What <see cref="RateController"/> decided on one outcome: the settings changes, in order, each with its reason (a
/// header seed and a 429 step may both come of one answer), and the pauses to take, in order.
/// </summary>
internal sealed record RateDecision(IReadOnlyList<RateChange> Changes, IReadOnlyList<RatePause> Pauses)
{
    /// <summary>This outcome began an outage (<see cref="RateController.InOutage"/>): requests with fallbacks go to them, one probe at a time.</summary>
    public bool OutageBegan { get; init; }

    /// <summary>This outcome ended an outage: the requests waiting to retry after a server error go now, the in-flight limit is restored.</summary>
    public bool OutageEnded { get; init; }

    public static readonly RateDecision None = new([], []);

    /// <summary>The last change (null without one): what the settings are now, and why.</summary>
    public RateChange? Change => Changes.Count > 0 ? Changes[^1] : null;
}
