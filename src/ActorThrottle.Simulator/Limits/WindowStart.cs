namespace ActorThrottle.Simulator;

/// <summary>Where a fixed window starts.</summary>
public enum WindowStart
{
    /// <summary>On multiples of the window length since the Unix epoch (per-minute quotas that reset on the minute).</summary>
    Clock,

    /// <summary>At the first hit after the previous window expired, so windows drift with the traffic (express-rate-limit).</summary>
    FirstHit,
}
