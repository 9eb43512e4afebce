namespace ActorThrottle.Simulator;

/// <summary>The names of the header dialects on the command line and in HOCON.</summary>
public static class RateLimitHeaderModeNames
{
    private static readonly (string Name, RateLimitHeaderMode Mode)[] Names =
    [
        ("openai", RateLimitHeaderMode.Full),
        ("none", RateLimitHeaderMode.None),
        ("retry-after", RateLimitHeaderMode.RetryAfterOnly),
        ("retry-after-date", RateLimitHeaderMode.RetryAfterDate),
        ("azure", RateLimitHeaderMode.Azure),
        ("anthropic", RateLimitHeaderMode.Anthropic),
        ("ietf-draft7", RateLimitHeaderMode.IetfDraft7),
        ("ietf-structured", RateLimitHeaderMode.IetfStructured),
        ("ietf-separate", RateLimitHeaderMode.IetfSeparate),
    ];

    /// <summary>Every accepted name, for usage and error texts (<c>full</c> and <c>retry-after-only</c> are kept as aliases).</summary>
    public static string All => string.Join(" | ", Names.Select(n => n.Name));

    /// <summary>The canonical name of <paramref name="mode"/>.</summary>
    public static string NameOf(RateLimitHeaderMode mode) => Names.First(n => n.Mode == mode).Name;

    /// <summary>Parses a name (case-insensitive; <c>full</c> = <c>openai</c>, <c>retry-after-only</c> = <c>retry-after</c>).</summary>
    /// <returns>False when the name is unknown.</returns>
    public static bool TryParse(string? text, out RateLimitHeaderMode mode)
    {
        var name = (text ?? string.Empty).Trim().ToLowerInvariant() switch
        {
            "full" => "openai",
            "retry-after-only" or "retryafteronly" => "retry-after",
            var other => other,
        };
        foreach (var (n, m) in Names)
        {
            if (n == name)
            {
                mode = m;
                return true;
            }
        }

        mode = default;
        return false;
    }
}
