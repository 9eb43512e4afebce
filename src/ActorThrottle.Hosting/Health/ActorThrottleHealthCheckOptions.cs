namespace ActorThrottle.Hosting.Health;

/// <summary>Options of <see cref="ActorThrottleHealthCheckExtensions.AddActorThrottleHealthChecks"/>.</summary>
public sealed class ActorThrottleHealthCheckOptions
{
    /// <summary>
    /// Models checked besides those configured under <c>actor-throttle.models</c> (e.g. models created on first use
    /// from <c>defaults</c>); default none.
    /// </summary>
    public List<string> Models { get; } = [];

    /// <summary>
    /// Probe each model's endpoint once when the host starts (an unauthenticated <c>GET {endpoint}/models</c>: any HTTP
    /// answer, even 401 or 404, means reachable); default off. An unreachable endpoint keeps its models unhealthy until
    /// one of their calls succeeds.
    /// </summary>
    public bool ProbeEndpointsOnStart { get; set; }

    /// <summary>How long the start-up probe waits for each endpoint; default 5 s.</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long one health check waits for each model's status; default 2 s.</summary>
    public TimeSpan StatusTimeout { get; set; } = TimeSpan.FromSeconds(2);
}
