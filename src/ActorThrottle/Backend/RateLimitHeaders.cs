using System.Globalization;

namespace ActorThrottle.Backend;

/// <summary>
/// Reads rate-limit facts from response headers: <c>retry-after-ms</c>, <c>retry-after</c> (seconds or an
/// HTTP date), OpenAI's <c>x-ratelimit-remaining/reset-requests|tokens</c>, Anthropic's
/// <c>anthropic-ratelimit-requests|tokens-remaining/reset</c> (RFC 3339 instants) and the IETF draft's
/// <c>RateLimit-Remaining</c>/<c>RateLimit-Reset</c>, or its later structured <c>RateLimit</c> field
/// (<c>"default";r=0;t=30</c>, or the older <c>limit=100, remaining=0, reset=30</c>). Malformed or negative values are ignored; absurdly large
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
        var ietf = StructuredRateLimit(header("ratelimit"));

        return new RateLimitInfo
        {
            RetryAfter = Cap(RetryAfter(header, now)),
            RemainingRequests = Count(header("x-ratelimit-remaining-requests"))
                ?? Count(header("anthropic-ratelimit-requests-remaining"))
                ?? Count(header("ratelimit-remaining"))
                ?? ietf.Remaining,
            ResetRequests = Cap(GoReset(header("x-ratelimit-reset-requests"))
                ?? InstantReset(header("anthropic-ratelimit-requests-reset"), now)
                ?? SecondsReset(header("ratelimit-reset"))
                ?? ietf.Reset),
            LimitRequests = Count(header("x-ratelimit-limit-requests"))
                ?? Count(header("anthropic-ratelimit-requests-limit")),
            LimitTokens = Count(header("x-ratelimit-limit-tokens"))
                ?? Count(header("anthropic-ratelimit-tokens-limit")),
            RemainingTokens = Count(header("x-ratelimit-remaining-tokens"))
                ?? Count(header("anthropic-ratelimit-tokens-remaining")),
            ResetTokens = Cap(GoReset(header("x-ratelimit-reset-tokens"))
                ?? InstantReset(header("anthropic-ratelimit-tokens-reset"), now)),
        };
    }

    /// <summary><c>retry-after-ms</c> wins over <c>retry-after</c> (it is the more precise of the two).</summary>
    public static TimeSpan? RetryAfter(Func<string, string?> header, DateTimeOffset now)
    {
        var ms = header("retry-after-ms");
        if (ms is not null && double.TryParse(ms.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var millis)
            && millis >= 0 && millis < TimeSpan.MaxValue.TotalMilliseconds / 2)
        {
            return TimeSpan.FromMilliseconds(millis);
        }
        var after = header("retry-after")?.Trim();
        if (string.IsNullOrEmpty(after))
        {
            return null;
        }
        if (double.TryParse(after, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
        {
            return seconds >= 0 && seconds < TimeSpan.MaxValue.TotalSeconds / 2 ? TimeSpan.FromSeconds(seconds) : null;
        }
        if (DateTimeOffset.TryParseExact(after, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
        {
            var wait = date - now;
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }
        return null;
    }

    /// <summary>
    /// The IETF draft's structured <c>RateLimit</c> field: a list of policies <c>"name";r=remaining;t=reset-seconds</c>
    /// (drafts 07+), or the older dictionary <c>limit=…, remaining=…, reset=…</c>. With several policies, the one with
    /// the fewest remaining wins (the longest reset among equals), since it is the one that will block first.
    /// </summary>
    private static (long? Remaining, TimeSpan? Reset) StructuredRateLimit(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return (null, null);
        }
        var items = new List<(long? Remaining, TimeSpan? Reset)>();
        long? legacyRemaining = null;
        TimeSpan? legacyReset = null;
        foreach (var item in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            long? remaining = null;
            TimeSpan? reset = null;
            foreach (var part in item.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
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
                items.Add((remaining, reset));
            }
        }
        if (items.Count == 0)
        {
            return (legacyRemaining, legacyReset);
        }
        return items
            .OrderBy(i => i.Remaining ?? long.MaxValue)
            .ThenByDescending(i => i.Reset ?? TimeSpan.Zero)
            .First();
    }

    private static long? Count(string? text) =>
        text is not null && long.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 0 ? n : null;

    private static TimeSpan? GoReset(string? text) => GoDuration.TryParse(text, out var t) ? t : null;

    private static TimeSpan? SecondsReset(string? text) =>
        text is not null && double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s >= 0 && s < 1e9
            ? TimeSpan.FromSeconds(s)
            : null;

    private static TimeSpan? InstantReset(string? text, DateTimeOffset now)
    {
        if (text is null || !DateTimeOffset.TryParse(text.Trim(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
        {
            return null;
        }
        var wait = at - now;
        return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
    }
}
