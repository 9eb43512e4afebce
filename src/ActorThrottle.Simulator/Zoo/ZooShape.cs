namespace ActorThrottle.Simulator;

/// <summary>
/// One provider shape of the benchmark matrix, provider side only: a limiter algorithm (or several) with a header dialect,
/// as a real provider or gateway runs it, and the matrix's rules for sizing a cell of it. The benchmark (over HTTP) and the
/// virtual-time matrix in the tests both build from <see cref="ProviderZoo.Shapes"/>, so they drive the same providers.
/// </summary>
/// <param name="Key">Short id used in file names and tables.</param>
/// <param name="Title">What it is.</param>
/// <param name="SeenAt">Who limits this way.</param>
/// <param name="LimitRps">The real sustained request limit (req/s) before any schedule step.</param>
/// <param name="HeaderMode">The header dialect it answers in.</param>
/// <param name="Limits">Its limits in <see cref="LimitSyntax.ParseLimit"/> syntax; the flag is quick mode.</param>
public sealed record ZooShape(string Key, string Title, string SeenAt, double LimitRps, RateLimitHeaderMode HeaderMode, Func<bool, IReadOnlyList<string>> Limits)
{
    /// <summary>How its token limit is charged (only matters for a shape with one).</summary>
    public TokenAccounting TokenAccounting { get; init; } = TokenAccounting.Reserve;

    /// <summary>A concurrency cap does not bind at latency 0: such cells are skipped.</summary>
    public bool NeedsLatency { get; init; }

    /// <summary>The provider's schedule (the flag is quick mode), measured from its first request.</summary>
    public Func<bool, IReadOnlyList<ScheduleStep>> Schedule { get; init; } = _ => [];

    /// <summary>Backlog in quick and full mode; null = the matrix default (<see cref="ProviderZoo.QuickBacklog"/>, <see cref="ProviderZoo.FullBacklog"/>).</summary>
    public (int Quick, int Full)? Backlog { get; init; }

    /// <summary>Tokens per minute the provider allows (0 = none), and so what "configured right" means for tokens.</summary>
    public double RealTpm { get; init; }

    /// <summary>The request rate a user would configure when told the limit (the provider's stated request limit); null = <see cref="LimitRps"/>.</summary>
    public double? StatedRps { get; init; }

    /// <summary>The simulator's settings of this shape, latency aside (seed 42, as every matrix run).</summary>
    /// <param name="quick">Quick mode (shorter windows where the shape has long ones).</param>
    public ModelSettings Settings(bool quick) => new()
    {
        HeaderMode = HeaderMode,
        Limits = Limits(quick).Select(LimitSyntax.ParseLimit).ToList(),
        TokenAccounting = TokenAccounting,
        Seed = 42,
    };

    /// <summary>
    /// Requests of a cell's backlog, all submitted at t = 0: the shape's backlog, or for a client not told the limit
    /// (<paramref name="configured"/> false) at least <see cref="ProviderZoo.NotConfiguredSeconds"/> of work at the limit.
    /// </summary>
    /// <param name="configured">Whether the client is told a limit (known, 2x, 10x) or not (none).</param>
    /// <param name="quick">Quick mode.</param>
    public int BacklogFor(bool configured, bool quick)
    {
        var n = Backlog is { } b ? (quick ? b.Quick : b.Full) : quick ? ProviderZoo.QuickBacklog : ProviderZoo.FullBacklog;
        return configured ? n : Math.Max(n, (int)(LimitRps * ProviderZoo.NotConfiguredSeconds));
    }

    /// <summary>Requests the real limit allows in [0, <paramref name="t"/>] seconds, following the schedule (an outage allows none).</summary>
    /// <param name="t">Seconds from the first request.</param>
    /// <param name="quick">Quick mode (its schedule).</param>
    public double LimitIntegral(double t, bool quick)
    {
        var total = 0.0;
        var from = 0.0;
        var factor = 1.0;
        foreach (var step in Schedule(quick))
        {
            var at = step.At.TotalSeconds;
            if (at >= t)
            {
                break;
            }

            total += LimitRps * factor * (at - from);
            (from, factor) = (at, step.OutageStatus is null ? step.Factor : 0);
        }

        return total + LimitRps * factor * Math.Max(0, t - from);
    }

    /// <summary>
    /// A cell's time cap: 1.5 × the ideal time to serve <paramref name="requests"/> at the real limit (in 0.5 s steps) + 8 s;
    /// requests not answered by then count as unfinished.
    /// </summary>
    /// <param name="requests">The cell's backlog.</param>
    /// <param name="quick">Quick mode (its schedule).</param>
    public double CapSeconds(int requests, bool quick)
    {
        var ideal = 0.0;
        while (LimitIntegral(ideal, quick) < requests && ideal < 3600)
        {
            ideal += 0.5;
        }

        return Math.Ceiling(1.5 * ideal + 8);
    }
}
