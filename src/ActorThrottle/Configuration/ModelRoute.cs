namespace ActorThrottle.Configuration;

/// <summary>Where a model's calls go: the base URL and the key (model's own, else the global one, else the environment's).</summary>
public sealed record ModelRoute(Uri Endpoint, ApiKey? ApiKey)
{
    /// <summary>The endpoint for logs: scheme, host, port and path, never user info (user:password@), a key or query.</summary>
    public string Display => $"{Endpoint.Scheme}://{Endpoint.Authority}{Endpoint.AbsolutePath}";
}
