namespace ActorThrottle.Backend;

/// <summary>
/// One quota policy a provider states: <paramref name="Quota"/> units per <paramref name="Window"/>. From the IETF
/// <c>RateLimit-Policy</c> field (draft-07 <c>100;w=1</c>, structured <c>"name";q=100;w=60;qu="requests"</c>) or the
/// draft-03..06 <c>RateLimit-Limit: 10, 10;w=1</c> list.
/// </summary>
/// <param name="Name">The policy's name (structured fields only).</param>
/// <param name="Quota">Units allowed per window.</param>
/// <param name="Window">The window the quota is counted over (the field's whole seconds).</param>
/// <param name="Unit">What the quota counts: <see cref="Requests"/> unless the field says otherwise (<c>qu</c>).</param>
public sealed record RateLimitPolicy(string? Name, long Quota, TimeSpan Window, string Unit = RateLimitPolicy.Requests)
{
    /// <summary>The IETF draft's default quota unit.</summary>
    public const string Requests = "requests";

    /// <summary>The IETF draft's unit for a cap on requests in flight (not a rate).</summary>
    public const string ConcurrentRequests = "concurrent-requests";
}
