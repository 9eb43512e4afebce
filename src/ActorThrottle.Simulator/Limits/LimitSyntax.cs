using System.Globalization;

namespace ActorThrottle.Simulator;

/// <summary>
/// The one-line text form of limits and schedules, shared by the command line and HOCON:
/// <c>fixed-window:20/1s,start=first-hit,charged</c>, <c>gcra:100/1s,burst=5,max-delay=500ms</c>, <c>concurrency:8</c>,
/// <c>sliding-log:30000/1m,unit=tokens</c>; schedules <c>10s=0.4,20s=1,30s=outage:529,60s=1</c>.
/// </summary>
public static class LimitSyntax
{
    /// <summary>What <see cref="ParseLimit"/> accepts, for usage texts.</summary>
    public const string LimitHelp =
        "ALGORITHM:QUOTA[/WINDOW][,unit=requests|tokens][,burst=N][,start=clock|first-hit][,max-delay=DURATION][,charged|free][,name=TEXT]; "
        + "ALGORITHM = token-bucket | gcra | fixed-window | sliding-log | sliding-window | concurrency (QUOTA = requests in flight); WINDOW defaults to 1s";

    /// <summary>What <see cref="ParseSchedule"/> accepts, for usage texts.</summary>
    public const string ScheduleHelp = "AT=FACTOR or AT=outage:STATUS, comma-separated, AT from the model's first request (e.g. 10s=0.4,20s=1,30s=outage:529,60s=1)";

    private static readonly (string Name, LimitAlgorithm Algorithm)[] Algorithms =
    [
        ("token-bucket", LimitAlgorithm.TokenBucket),
        ("gcra", LimitAlgorithm.Gcra),
        ("fixed-window", LimitAlgorithm.FixedWindow),
        ("sliding-log", LimitAlgorithm.SlidingLog),
        ("sliding-window", LimitAlgorithm.SlidingWindowCounter),
        ("concurrency", LimitAlgorithm.Concurrency),
    ];

    /// <summary>Parses one limit.</summary>
    /// <exception cref="FormatException">The text is malformed (the message says which part and what is allowed).</exception>
    public static LimitSpec ParseLimit(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var head = parts[0];
        var colon = head.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            throw new FormatException($"'{text}': a limit is {LimitHelp}.");
        }

        var algorithmName = head[..colon].Trim().ToLowerInvariant();
        var match = Algorithms.Where(a => a.Name == algorithmName).Select(a => (LimitAlgorithm?)a.Algorithm).FirstOrDefault()
            ?? throw new FormatException($"'{text}': unknown algorithm '{algorithmName}'; one of {string.Join(", ", Algorithms.Select(a => a.Name))}.");
        var rate = head[(colon + 1)..].Trim();
        var slash = rate.IndexOf('/', StringComparison.Ordinal);
        var spec = new LimitSpec
        {
            Algorithm = match,
            Quota = Number(text, "quota", slash < 0 ? rate : rate[..slash]),
            Window = slash < 0 ? TimeSpan.FromSeconds(1) : Duration(text, "window", rate[(slash + 1)..]),
        };
        foreach (var option in parts.Skip(1))
        {
            var eq = option.IndexOf('=', StringComparison.Ordinal);
            var key = (eq < 0 ? option : option[..eq]).Trim().ToLowerInvariant();
            var value = eq < 0 ? string.Empty : option[(eq + 1)..].Trim();
            spec = key switch
            {
                "charged" when eq < 0 => spec with { ChargeRejected = true },
                "free" when eq < 0 => spec with { ChargeRejected = false },
                "unit" => spec with
                {
                    Unit = value.ToLowerInvariant() switch
                    {
                        "requests" => LimitUnit.Requests,
                        "tokens" => LimitUnit.Tokens,
                        _ => throw new FormatException($"'{text}': unit must be requests or tokens, was '{value}'."),
                    },
                },
                "burst" => spec with { Burst = Number(text, "burst", value) },
                "start" => spec with
                {
                    WindowStart = value.ToLowerInvariant() switch
                    {
                        "clock" => WindowStart.Clock,
                        "first-hit" => WindowStart.FirstHit,
                        _ => throw new FormatException($"'{text}': start must be clock or first-hit, was '{value}'."),
                    },
                },
                "max-delay" => spec with { MaxDelay = Duration(text, "max-delay", value) },
                "name" when value.Length > 0 => spec with { Name = value },
                _ => throw new FormatException($"'{text}': unknown option '{option}'; options are unit=, burst=, start=, max-delay=, charged, free, name=."),
            };
        }

        try
        {
            spec.Validate("limit");
        }
        catch (ArgumentException e)
        {
            throw new FormatException($"'{text}': {e.Message}", e);
        }

        return spec;
    }

    /// <summary>Parses a schedule (steps in order of time).</summary>
    /// <exception cref="FormatException">The text is malformed.</exception>
    public static IReadOnlyList<ScheduleStep> ParseSchedule(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var steps = new List<ScheduleStep>();
        foreach (var item in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = item.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new FormatException($"'{item}': a schedule step is {ScheduleHelp}.");
            }

            var at = Duration(item, "time", item[..eq]);
            var what = item[(eq + 1)..].Trim();
            var step = what.StartsWith("outage:", StringComparison.OrdinalIgnoreCase)
                ? new ScheduleStep { At = at, OutageStatus = (int)Number(item, "status", what["outage:".Length..]) }
                : new ScheduleStep { At = at, Factor = Number(item, "factor", what) };
            try
            {
                step.Validate("step");
            }
            catch (ArgumentException e)
            {
                throw new FormatException($"'{item}': {e.Message}", e);
            }

            if (steps.Count > 0 && step.At <= steps[^1].At)
            {
                throw new FormatException($"'{item}': steps must be in order of time, and this one is not later than the one before.");
            }

            steps.Add(step);
        }

        return steps;
    }

    /// <summary>A duration such as <c>250ms</c>, <c>1s</c>, <c>1.5s</c>, <c>1m</c>, <c>2h</c>.</summary>
    /// <exception cref="FormatException">Not one of those.</exception>
    public static TimeSpan ParseDuration(string text) => Duration(text, "duration", text);

    private static double Number(string text, string what, string value) =>
        double.TryParse(value.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number)
            ? number
            : throw new FormatException($"'{text}': the {what} must be a number, was '{value.Trim()}'.");

    private static TimeSpan Duration(string text, string what, string value)
    {
        var v = value.Trim().ToLowerInvariant();
        (string Suffix, double Seconds)[] units = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)];
        foreach (var (suffix, seconds) in units)
        {
            if (v.EndsWith(suffix, StringComparison.Ordinal)
                && double.TryParse(v[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && double.IsFinite(n) && n >= 0)
            {
                return TimeSpan.FromSeconds(n * seconds);
            }
        }

        throw new FormatException($"'{text}': the {what} must be a duration such as 250ms, 1s or 1m, was '{value.Trim()}'.");
    }
}
