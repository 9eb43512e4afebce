using System.Globalization;
using System.Text;

namespace ActorThrottle.Simulator;

/// <summary>
/// The rate-limit headers of one response in each dialect (<see cref="RateLimitHeaderMode"/>), from the facts of the
/// model's limits. Pure: the instant comes in as an argument. Delta-seconds are ceilings, as the specs ask, so a client
/// that waits that long is never early; concurrency caps never appear (real ones send no rate header).
/// </summary>
internal static class RateLimitHeaderWriter
{
    /// <summary>The headers of one response, in a stable order.</summary>
    /// <param name="mode">The dialect.</param>
    /// <param name="limits">Every limit's facts.</param>
    /// <param name="retryAfter">The exact wait of a 429 (null on any other response, and on a 429 that cannot say).</param>
    /// <param name="now">The response's instant (for dialects that send instants).</param>
    public static IReadOnlyList<KeyValuePair<string, string>> For(RateLimitHeaderMode mode, IReadOnlyList<LimitFacts> limits, TimeSpan? retryAfter, DateTimeOffset now)
    {
        var headers = new List<KeyValuePair<string, string>>();
        var timed = limits.Where(l => l.Algorithm != LimitAlgorithm.Concurrency).ToList();
        switch (mode)
        {
            case RateLimitHeaderMode.None:
                return headers;
            case RateLimitHeaderMode.Full:
                foreach (var (unit, suffix) in Units)
                {
                    if (ModelLimiter.Tightest(timed, unit) is { } f)
                    {
                        Add(headers, $"x-ratelimit-limit-{suffix}", Integer(f.Quota));
                        Add(headers, $"x-ratelimit-remaining-{suffix}", Integer(f.Remaining));
                        Add(headers, $"x-ratelimit-reset-{suffix}", GoDuration.FormatMilliseconds(f.Reset));
                    }
                }

                if (retryAfter is { } openAiWait)
                {
                    Add(headers, "retry-after", Integer(CeilingSeconds(openAiWait)));
                    Add(headers, "retry-after-ms", Integer(CeilingMilliseconds(openAiWait)));
                }

                return headers;
            case RateLimitHeaderMode.Azure:
                foreach (var (unit, suffix) in Units)
                {
                    if (ModelLimiter.Tightest(timed, unit) is { } f)
                    {
                        Add(headers, $"x-ratelimit-remaining-{suffix}", Integer(f.Remaining));
                    }
                }

                if (retryAfter is { } azureWait)
                {
                    Add(headers, "retry-after-ms", Integer(CeilingMilliseconds(azureWait)));
                    Add(headers, "retry-after", Integer(CeilingSeconds(azureWait)));
                }

                return headers;
            case RateLimitHeaderMode.Anthropic:
                foreach (var (unit, suffix) in Units)
                {
                    if (ModelLimiter.Tightest(timed, unit) is { } f)
                    {
                        Add(headers, $"anthropic-ratelimit-{suffix}-limit", Integer(f.Quota));
                        Add(headers, $"anthropic-ratelimit-{suffix}-remaining", Integer(f.Remaining));
                        Add(headers, $"anthropic-ratelimit-{suffix}-reset", Rfc3339(now, f.Reset));
                    }
                }

                break;
            case RateLimitHeaderMode.IetfDraft7:
                if (Closest(timed) is { } d7)
                {
                    Add(headers, "RateLimit", $"limit={Integer(d7.Quota)}, remaining={Integer(d7.Remaining)}, reset={Integer(CeilingSeconds(d7.Reset))}");
                    Add(headers, "RateLimit-Policy", string.Join(", ", ReportedFirst(timed, d7).Select(l => $"{Integer(l.Quota)};w={Integer(CeilingSeconds(l.Window))}")));
                }

                break;
            case RateLimitHeaderMode.IetfStructured:
                if (Closest(timed) is { } sf)
                {
                    Add(headers, "RateLimit-Policy", string.Join(", ", ReportedFirst(timed, sf).Select(l => $"{SfString(l.Name)};q={Integer(l.Quota)};w={Integer(CeilingSeconds(l.Window))}")));
                    Add(headers, "RateLimit", $"{SfString(sf.Name)};r={Integer(sf.Remaining)};t={Integer(CeilingSeconds(sf.Reset))}");
                }

                break;
            case RateLimitHeaderMode.IetfSeparate:
                if (Closest(timed) is { } sep)
                {
                    Add(headers, "RateLimit-Limit", Integer(sep.Quota));
                    Add(headers, "RateLimit-Remaining", Integer(sep.Remaining));
                    Add(headers, "RateLimit-Reset", Integer(CeilingSeconds(sep.Reset)));
                }

                break;
            case RateLimitHeaderMode.RetryAfterOnly:
                if (retryAfter is { } onlyWait)
                {
                    Add(headers, "retry-after", Integer(Math.Max(1, CeilingSeconds(onlyWait))));
                }

                return headers;
            case RateLimitHeaderMode.RetryAfterDate:
                if (retryAfter is { } dateWait)
                {
                    Add(headers, "retry-after", HttpDate(now, dateWait));
                }

                return headers;
            default:
                throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown header mode.");
        }

        // Anthropic and the IETF dialects: a plain delta-seconds retry-after on a 429.
        if (retryAfter is { } wait)
        {
            Add(headers, "retry-after", Integer(CeilingSeconds(wait)));
        }

        return headers;
    }

    /// <summary>Whole seconds, rounded up (a wait of 1.001 s is 2; 0 stays 0).</summary>
    public static long CeilingSeconds(TimeSpan wait) => wait <= TimeSpan.Zero ? 0 : (wait.Ticks + TimeSpan.TicksPerSecond - 1) / TimeSpan.TicksPerSecond;

    /// <summary>Whole milliseconds, rounded up.</summary>
    public static long CeilingMilliseconds(TimeSpan wait) => wait <= TimeSpan.Zero ? 0 : (wait.Ticks + TimeSpan.TicksPerMillisecond - 1) / TimeSpan.TicksPerMillisecond;

    /// <summary>
    /// The limit closest to rejecting: the smallest share left (remaining ÷ quota); of equals, the one whole again last.
    /// </summary>
    public static LimitFacts? Closest(IReadOnlyList<LimitFacts> limits)
    {
        LimitFacts? best = null;
        foreach (var l in limits)
        {
            if (best is not { } b || Share(l) < Share(b) || (Share(l) == Share(b) && l.Reset > b.Reset))
            {
                best = l;
            }
        }

        return best;
    }

    private static readonly (LimitUnit Unit, string Suffix)[] Units = [(LimitUnit.Requests, "requests"), (LimitUnit.Tokens, "tokens")];

    private static double Share(LimitFacts l) => l.Quota > 0 ? l.Remaining / l.Quota : 0;

    private static IEnumerable<LimitFacts> ReportedFirst(IReadOnlyList<LimitFacts> limits, LimitFacts reported) =>
        limits.Where(l => l == reported).Concat(limits.Where(l => l != reported));

    private static void Add(List<KeyValuePair<string, string>> headers, string name, string value) => headers.Add(new(name, value));

    private static string Integer(double value) => ((long)Math.Round(value)).ToString(CultureInfo.InvariantCulture);

    private static string Integer(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>RFC 3339 in UTC, whole seconds rounded up (when the limit is whole again, never earlier).</summary>
    private static string Rfc3339(DateTimeOffset now, TimeSpan after) =>
        CeilingToSecond(now + after).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>IMF-fixdate (RFC 9110 §5.6.7) of now + wait, rounded up to the second.</summary>
    private static string HttpDate(DateTimeOffset now, TimeSpan wait) =>
        CeilingToSecond(now + (wait > TimeSpan.Zero ? wait : TimeSpan.Zero)).ToString("r", CultureInfo.InvariantCulture);

    private static DateTimeOffset CeilingToSecond(DateTimeOffset instant)
    {
        var utc = instant.ToUniversalTime();
        var extra = utc.Ticks % TimeSpan.TicksPerSecond;
        return extra == 0 ? utc : utc.AddTicks(TimeSpan.TicksPerSecond - extra);
    }

    /// <summary>An RFC 8941 sf-string: quoted, with <c>\</c> and <c>"</c> escaped.</summary>
    private static string SfString(string value)
    {
        var sb = new StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
        {
            if (c is '"' or '\\')
            {
                sb.Append('\\');
            }

            sb.Append(c is >= ' ' and <= '~' ? c : '?');
        }

        return sb.Append('"').ToString();
    }
}
