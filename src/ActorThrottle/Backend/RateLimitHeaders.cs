using System.Globalization;

namespace ActorThrottle.Backend;

/// <summary>
/// Reads rate-limit facts from response headers: <c>retry-after-ms</c>, <c>retry-after</c> (seconds or an
/// HTTP date), OpenAI's <c>x-ratelimit-remaining/reset-requests|tokens</c>, Anthropic's
/// <c>anthropic-ratelimit-requests|tokens-remaining/reset</c> (RFC 3339 instants) and the IETF draft's
/// <c>RateLimit-Remaining</c>/<c>RateLimit-Reset</c>, or its later structured <c>RateLimit</c> field
/// (<c>"default";r=0;t=30</c>, or the older <c>limit=100, remaining=0, reset=30</c>), with the
/// <c>RateLimit-Policy</c> quotas and windows. Whole delta-seconds and instants are marked as upper bounds
/// (<see cref="RateLimitInfo"/>'s granularities). Malformed or negative values are ignored; absurdly large
/// ones are capped at the given maximum wait.
/// </summary>
internal static class RateLimitHeaders
{
    /// <summary>Longest wait any header may ask for, before the caller's own caps.</summary>
    public static readonly TimeSpan DefaultMaxWait = TimeSpan.FromHours(1);

    public static RateLimitInfo Parse(Func<string, string?> header, DateTimeOffset now, TimeSpan? maxWait = null)
    {
        var cap = maxWait ?? DefaultMaxWait;
        TimeSpan? Cap(TimeSpan? t) => t is { } v ? (v > cap ? cap : v) : null;
        var policies = Policies(header("ratelimit-policy"), header("ratelimit-limit"));
        var ietf = StructuredRateLimit(header("ratelimit"));
        var retryAfter = RetryAfterWithGranularity(header, now);

        var openAiRequests = (Limit: Count(header("x-ratelimit-limit-requests")), Remaining: Count(header("x-ratelimit-remaining-requests")), Reset: GoReset(header("x-ratelimit-reset-requests")));
        var openAiTokens = (Limit: Count(header("x-ratelimit-limit-tokens")), Remaining: Count(header("x-ratelimit-remaining-tokens")), Reset: GoReset(header("x-ratelimit-reset-tokens")));
        var anthropicRequests = (Limit: Count(header("anthropic-ratelimit-requests-limit")), Remaining: Count(header("anthropic-ratelimit-requests-remaining")), Reset: InstantReset(header("anthropic-ratelimit-requests-reset"), now));
        var anthropicTokens = (Limit: Count(header("anthropic-ratelimit-tokens-limit")), Remaining: Count(header("anthropic-ratelimit-tokens-remaining")), Reset: InstantReset(header("anthropic-ratelimit-tokens-reset"), now));
        var separate = (Limit: LeadingCount(header("ratelimit-limit")), Remaining: Count(header("ratelimit-remaining")), Reset: SecondsReset(header("ratelimit-reset")));

        var dialect = Any(openAiRequests) || Any(openAiTokens) ? RateLimitDialect.OpenAI
            : Any(anthropicRequests) || Any(anthropicTokens) ? RateLimitDialect.Anthropic
            : separate.Limit is not null || separate.Remaining is not null || separate.Reset is not null ? RateLimitDialect.IetfSeparate
            : ietf.Structured ? RateLimitDialect.IetfStructured
            : ietf.Remaining is not null || ietf.Reset is not null || ietf.Limit is not null || policies.Count > 0 ? RateLimitDialect.IetfDraft7
            : RateLimitDialect.None;

        // The reported policy: by name (structured), by quota (draft-07's limit=), or the only one stated.
        var reported = ietf.Name is { } name ? policies.FirstOrDefault(p => p.Name == name)
            : (ietf.Limit ?? separate.Limit) is { } quota ? policies.FirstOrDefault(p => p.Quota == quota)
            : policies.Count == 1 ? policies[0]
            : null;
        var requestsReset = openAiRequests.Reset ?? anthropicRequests.Reset ?? separate.Reset ?? ietf.Reset;
        var tokensReset = openAiTokens.Reset ?? anthropicTokens.Reset;

        return new RateLimitInfo
        {
            Dialect = dialect,
            RetryAfter = Cap(retryAfter?.Value),
            RetryAfterGranularity = retryAfter?.Granularity ?? TimeSpan.Zero,
            RemainingRequests = openAiRequests.Remaining ?? anthropicRequests.Remaining ?? separate.Remaining ?? ietf.Remaining,
            ResetRequests = Cap(requestsReset?.Item1),
            ResetRequestsGranularity = requestsReset?.Item2 ?? TimeSpan.Zero,
            LimitRequests = openAiRequests.Limit ?? anthropicRequests.Limit ?? separate.Limit ?? ietf.Limit ?? reported?.Quota,
            WindowRequests = reported?.Window,
            LimitTokens = openAiTokens.Limit ?? anthropicTokens.Limit,
            RemainingTokens = openAiTokens.Remaining ?? anthropicTokens.Remaining,
            ResetTokens = Cap(tokensReset?.Item1),
            ResetTokensGranularity = tokensReset?.Item2 ?? TimeSpan.Zero,
            Policies = policies.Count > 0 ? policies : Array.Empty<RateLimitPolicy>(),
        };
    }

    private static bool Any((long? Limit, long? Remaining, (TimeSpan, TimeSpan)? Reset) facts) =>
        facts.Limit is not null || facts.Remaining is not null || facts.Reset is not null;

    /// <summary><c>retry-after-ms</c> wins over <c>retry-after</c> (it is the more precise of the two).</summary>
    public static TimeSpan? RetryAfter(Func<string, string?> header, DateTimeOffset now) => RetryAfterWithGranularity(header, now)?.Value;

    /// <summary>As <see cref="RetryAfter"/>, with how coarse the value is: 1 s for whole delta-seconds and HTTP dates.</summary>
    private static (TimeSpan Value, TimeSpan Granularity)? RetryAfterWithGranularity(Func<string, string?> header, DateTimeOffset now)
    {
        var ms = header("retry-after-ms");
        if (ms is not null && double.TryParse(ms.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var millis)
            && millis >= 0 && millis < TimeSpan.MaxValue.TotalMilliseconds / 2)
        {
            return (TimeSpan.FromMilliseconds(millis), TimeSpan.Zero);
        }
        var after = header("retry-after")?.Trim();
        if (string.IsNullOrEmpty(after))
        {
            return null;
        }
        if (double.TryParse(after, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
        {
            return seconds >= 0 && seconds < TimeSpan.MaxValue.TotalSeconds / 2 ? (TimeSpan.FromSeconds(seconds), WholeSecondsGranularity(after)) : null;
        }
        if (DateTimeOffset.TryParseExact(after, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
        {
            var wait = date - now;
            return (wait > TimeSpan.Zero ? wait : TimeSpan.Zero, TimeSpan.FromSeconds(1));
        }
        return null;
    }

    /// <summary>
    /// The IETF draft's <c>RateLimit</c> field: a list of policies <c>"name";r=remaining;t=reset-seconds</c> (drafts 08+), or the draft-07 dictionary <c>limit=…, remaining=…, reset=…</c>. With
    /// several policies, the one with the fewest remaining wins (the longest reset among equals), since it is the one
    /// that will block first.
    /// </summary>
    private static RateLimitFields StructuredRateLimit(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return default;
        }
        var items = new List<RateLimitFields>();
        long? legacyLimit = null;
        long? legacyRemaining = null;
        (TimeSpan, TimeSpan)? legacyReset = null;
        foreach (var item in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            long? remaining = null;
            (TimeSpan, TimeSpan)? reset = null;
            string? name = null;
            var parts = item.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            for (var i = 0; i < parts.Length; i++)
            {
                var part = parts[i];
                if (i == 0 && part.StartsWith('"'))
                {
                    name = SfString(part);
                    continue;
                }
                var eq = part.IndexOf('=');
                if (eq <= 0)
                {
                    continue;
                }
                var key = part[..eq].Trim();
                var value = part[(eq + 1)..].Trim().Trim('"');
                switch (key)
                {
                    case "r":
                        remaining = Count(value);
                        break;
                    case "t":
                        reset = SecondsReset(value);
                        break;
                    case "limit":
                        legacyLimit = Count(value);
                        break;
                    case "remaining":
                        legacyRemaining = Count(value);
                        break;
                    case "reset":
                        legacyReset = SecondsReset(value);
                        break;
                }
            }
            if (remaining is not null || reset is not null)
            {
                items.Add(new RateLimitFields(name, null, remaining, reset, Structured: true));
            }
        }
        if (items.Count == 0)
        {
            return new RateLimitFields(null, legacyLimit, legacyRemaining, legacyReset, Structured: false);
        }
        return items
            .OrderBy(i => i.Remaining ?? long.MaxValue)
            .ThenByDescending(i => i.Reset?.Value ?? TimeSpan.Zero)
            .First();
    }

    /// <summary>What the <c>RateLimit</c> field says about the policy it reports on.</summary>
    /// <param name="Structured">From the drafts 08+ list (else the draft-07 dictionary).</param>
    private readonly record struct RateLimitFields(string? Name, long? Limit, long? Remaining, (TimeSpan Value, TimeSpan Granularity)? Reset, bool Structured);

    /// <summary>
    /// The quota policies: <c>RateLimit-Policy</c> items, either draft-07's <c>100;w=1</c> or the structured
    /// <c>"name";q=100;w=60;qu="requests"</c>; and the <c>;w=</c> items of a draft-03..06 <c>RateLimit-Limit: 10, 10;w=1</c>.
    /// Items without a usable quota or a positive window are skipped.
    /// </summary>
    private static List<RateLimitPolicy> Policies(string? policyField, string? limitField)
    {
        var policies = new List<RateLimitPolicy>();
        foreach (var text in new[] { policyField, limitField })
        {
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }
            foreach (var item in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var parts = item.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length == 0)
                {
                    continue;
                }
                string? name = null;
                long? quota = null;
                TimeSpan? window = null;
                var unit = RateLimitPolicy.Requests;
                if (parts[0].StartsWith('"'))
                {
                    name = SfString(parts[0]);
                }
                else
                {
                    quota = Count(parts[0]);
                }
                foreach (var part in parts.Skip(1))
                {
                    var eq = part.IndexOf('=');
                    if (eq <= 0)
                    {
                        continue;
                    }
                    var value = part[(eq + 1)..].Trim();
                    switch (part[..eq].Trim())
                    {
                        case "q":
                            quota = Count(value);
                            break;
                        case "w":
                            window = SecondsReset(value)?.Value;
                            break;
                        case "qu":
                            unit = value.Trim('"');
                            break;
                    }
                }
                if (quota is { } q && window is { } w && w > TimeSpan.Zero)
                {
                    policies.Add(new RateLimitPolicy(name, q, w, unit));
                }
            }
        }
        return policies;
    }

    /// <summary>An RFC 8941 sf-string's content (quotes removed, <c>\"</c> and <c>\\</c> unescaped).</summary>
    private static string SfString(string token)
    {
        var inner = token.Length >= 2 && token.EndsWith('"') ? token[1..^1] : token.TrimStart('"');
        return inner.Replace("\\\"", "\"", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);
    }

    private static long? Count(string? text) =>
        text is not null && long.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 0 ? n : null;

    /// <summary><c>RateLimit-Limit</c>'s quota: the whole field, or its first item when it lists policies (<c>10, 10;w=1</c>).</summary>
    private static long? LeadingCount(string? text) =>
        text is null ? null : Count(text.Split(',')[0].Split(';')[0]);

    private static (TimeSpan Value, TimeSpan Granularity)? GoReset(string? text) => GoDuration.TryParse(text, out var t) ? (t, TimeSpan.Zero) : null;

    /// <summary>Delta-seconds; whole ones are ceilings with a granularity of a second, fractional ones exact.</summary>
    private static (TimeSpan Value, TimeSpan Granularity)? SecondsReset(string? text) =>
        text is not null && double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s >= 0 && s < 1e9
            ? (TimeSpan.FromSeconds(s), WholeSecondsGranularity(text))
            : null;

    private static TimeSpan WholeSecondsGranularity(string text) =>
        text.Contains('.', StringComparison.Ordinal) ? TimeSpan.Zero : TimeSpan.FromSeconds(1);

    /// <summary>An RFC 3339 instant; without sub-second digits it is rounded (up, by the providers) to the second.</summary>
    private static (TimeSpan Value, TimeSpan Granularity)? InstantReset(string? text, DateTimeOffset now)
    {
        if (text is null || !DateTimeOffset.TryParse(text.Trim(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
        {
            return null;
        }
        var wait = at - now;
        var subSecond = text.IndexOf('T', StringComparison.OrdinalIgnoreCase) is var t and >= 0 && text.IndexOf('.', t) >= 0;
        return (wait > TimeSpan.Zero ? wait : TimeSpan.Zero, subSecond ? TimeSpan.Zero : TimeSpan.FromSeconds(1));
    }
}
