namespace ActorThrottle.Configuration;

/// <summary>
/// The credentials rule as pure functions: a key goes only to the host it was configured for.
/// Each configuration level (the global block, <c>defaults</c>, a model's block) binds its <c>api-key</c> /
/// <c>api-key-env</c> and <c>allow-unauthenticated</c> to the endpoint in effect at that level; a model uses the
/// innermost key whose level's endpoint has the same origin (scheme, host, port) as the model's endpoint, else the
/// well-known environment variable of that endpoint's host (<c>OPENAI_API_KEY</c> for api.openai.com,
/// <c>COMETAPI_KEY</c> for api.cometapi.com), else none.
/// </summary>
internal static class Credentials
{
    /// <summary>Providers whose key variable is read from the environment without being named in the configuration.</summary>
    internal static readonly IReadOnlyList<KnownProvider> KnownProviders =
    [
        new("api.openai.com", "OPENAI_API_KEY", "https://api.openai.com/v1"),
        new("api.cometapi.com", "COMETAPI_KEY", "https://api.cometapi.com/v1"),
    ];

    /// <summary>True when <paramref name="a"/> and <paramref name="b"/> are the same origin: scheme, host and port.</summary>
    public static bool SameOrigin(Uri a, Uri b) =>
        string.Equals(a.Scheme, b.Scheme, StringComparison.OrdinalIgnoreCase)
        && string.Equals(a.IdnHost, b.IdnHost, StringComparison.OrdinalIgnoreCase)
        && a.Port == b.Port;

    /// <summary>The provider whose environment key may go to <paramref name="endpoint"/>: https on its default port only.</summary>
    public static KnownProvider? ProviderOf(Uri endpoint) =>
        endpoint.Scheme == Uri.UriSchemeHttps && endpoint.IsDefaultPort
            ? KnownProviders.FirstOrDefault(p => string.Equals(p.Host, endpoint.IdnHost, StringComparison.OrdinalIgnoreCase))
            : null;

    /// <summary>A known provider's host, whatever the scheme or port (for the base-URL warning).</summary>
    public static KnownProvider? HostOf(Uri endpoint) =>
        KnownProviders.FirstOrDefault(p => string.Equals(p.Host, endpoint.IdnHost, StringComparison.OrdinalIgnoreCase));

    /// <summary>Reads a variable, trimmed; null when unset or blank.</summary>
    public static ApiKey? FromEnvironment(Func<string, string?> environment, string variable) =>
        environment(variable) is { } value && !string.IsNullOrWhiteSpace(value) ? new ApiKey(value.Trim()) : null;

    /// <summary>
    /// The key and the unauthenticated permission of a model calling <paramref name="endpoint"/>, from
    /// <paramref name="levels"/> ordered innermost (the model's block) first.
    /// </summary>
    public static (ApiKey? Key, bool AllowUnauthenticated) Resolve(Uri endpoint, IReadOnlyList<CredentialLevel> levels, Func<string, string?> environment)
    {
        ApiKey? key = null;
        foreach (var level in levels)
        {
            if (level.Key is not null && SameOrigin(level.Endpoint, endpoint))
            {
                key = level.Key;
                break;
            }
        }
        if (key is null && ProviderOf(endpoint) is { } provider)
        {
            key = FromEnvironment(environment, provider.Variable);
        }
        // "on" at any level that applies to this endpoint: it only silences the missing-key error, a key is still sent.
        var allow = levels.Any(l => l.AllowUnauthenticated && SameOrigin(l.Endpoint, endpoint));
        return (key, allow);
    }

    /// <summary>
    /// Why no key reached <paramref name="endpoint"/>, for the start-up error: levels whose key is bound to another
    /// host, an <c>api-key-env</c> naming an unset variable, a well-known variable that is set but bound elsewhere.
    /// </summary>
    public static IEnumerable<string> ExplainMissing(Uri endpoint, IReadOnlyList<CredentialLevel> levels, Func<string, string?> environment)
    {
        foreach (var level in levels)
        {
            if (level.UnsetVariable is { } variable && SameOrigin(level.Endpoint, endpoint))
            {
                yield return variable.Length > 0
                    ? $"the variable {variable} ({level.Prefix}.api-key-env) is not set"
                    : $"the variable named by {level.Prefix}.api-key-env is not set";
            }
            else if (level.Key is not null && !SameOrigin(level.Endpoint, endpoint))
            {
                yield return $"the key of {level.Prefix} belongs to {Origin(level.Endpoint)} and is not sent to {Origin(endpoint)}";
            }
        }
        foreach (var provider in KnownProviders)
        {
            if (ProviderOf(endpoint) != provider && FromEnvironment(environment, provider.Variable) is not null)
            {
                yield return $"{provider.Variable} is set but is sent only to https://{provider.Host}";
            }
        }
    }

    /// <summary>scheme://host:port, for messages.</summary>
    public static string Origin(Uri uri) => $"{uri.Scheme}://{uri.Authority}";
}

/// <summary>A provider whose key is read from a well-known environment variable, for its own host only.</summary>
internal sealed record KnownProvider(string Host, string Variable, string BaseUrl);

/// <summary>
/// What one configuration level says about credentials: the endpoint in effect there, its key (from <c>api-key</c> or
/// the variable named by <c>api-key-env</c>), and <c>allow-unauthenticated</c>. <paramref name="Prefix"/> is the level's
/// HOCON path (<c>actor-throttle</c>, <c>actor-throttle.defaults</c>, <c>actor-throttle.models."id"</c>).
/// <paramref name="UnsetVariable"/>: <c>api-key-env</c> names a variable that is not set (its name, or "" when the
/// name is not shown because it may be a pasted key); null otherwise.
/// </summary>
internal sealed record CredentialLevel(string Prefix, Uri Endpoint, ApiKey? Key, bool AllowUnauthenticated, string? UnsetVariable = null);
