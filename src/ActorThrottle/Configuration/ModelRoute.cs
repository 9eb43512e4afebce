namespace ActorThrottle.Configuration;

/// <summary>
/// Where a model's calls go: the base URL and the key bound to it (see DESIGN.md "Credentials": the model's own key,
/// else a key configured for the same origin at an outer level, else the environment variable of that host).
/// </summary>
public sealed record ModelRoute(Uri Endpoint, ApiKey? ApiKey)
{
    /// <summary>
    /// <c>allow-unauthenticated</c>: a local server without keys (vLLM, Ollama). With no <see cref="ApiKey"/>, calls go
    /// without an Authorization header instead of failing at start.
    /// </summary>
    public bool AllowUnauthenticated { get; init; }

    /// <summary>The endpoint for logs: scheme, host, port and path, never user info (user:password@), a key or query.</summary>
    public string Display => $"{Endpoint.Scheme}://{Endpoint.Authority}{Endpoint.AbsolutePath}";

    /// <summary>The URL a chat completion is posted to (the SDK appends <c>/chat/completions</c> to the base URL), for messages.</summary>
    public string ChatCompletionsDisplay => Display.TrimEnd('/') + "/chat/completions";
}
