using System.Globalization;
using System.Text;
using System.Text.Json;
using ActorThrottle.Simulator;
using SimModelSettings = ActorThrottle.Simulator.ModelSettings;

namespace ActorThrottle.Benchmarks;

/// <summary>
/// One provider shape of the matrix: a limiter algorithm (or several) with a header dialect, as a real provider or
/// gateway runs it. <see cref="LimitRps"/> is the sustained request rate it really allows.
/// </summary>
/// <param name="Key">Short id used in file names and tables.</param>
/// <param name="Title">What it is.</param>
/// <param name="SeenAt">Who limits this way.</param>
/// <param name="LimitRps">The real sustained limit (req/s).</param>
/// <param name="Build">The simulator settings (limits, headers, charging), latency aside; the flag is quick mode.</param>
public sealed record ProviderShape(string Key, string Title, string SeenAt, double LimitRps, Func<bool, SimModelSettings> Build)
{
    /// <summary>A concurrency cap does not bind at latency 0: such cells are skipped.</summary>
    public bool NeedsLatency { get; init; }

    /// <summary>The provider's schedule (quick mode, full mode).</summary>
    public Func<bool, IReadOnlyList<ScheduleStep>> Schedule { get; init; } = _ => [];

    /// <summary>Backlog in quick and full mode; null = the matrix default.</summary>
    public (int Quick, int Full)? Backlog { get; init; }

    /// <summary>Tokens per minute the provider allows (0 = none), and so what "configured right" means for tokens.</summary>
    public double RealTpm { get; init; }

    /// <summary>The request rate a user would configure when told the limit (the provider's stated request limit).</summary>
    public double? StatedRps { get; init; }

    /// <summary>The zoo entry it was built from (backlog and cap rules).</summary>
    public required ZooShape Zoo { get; init; }
}

/// <summary>One run of one baseline in one matrix cell.</summary>
public sealed record MatrixRun(ProviderShape Shape, MatrixConfig Config, bool Latency, Scenario Scenario, RunResult Run);

/// <summary>How the client is configured, relative to the real limit.</summary>
public sealed record MatrixConfig(string Key, string Title, double? Factor)
{
    public static readonly MatrixConfig[] All =
    [
        new("known", "limit configured right", 1),
        new("2x", "configured 2× too high", 2),
        new("10x", "configured 10× too high", 10),
        new("none", "not configured (the reference default applies)", null),
    ];
}

/// <summary>The provider zoo benchmark: every shape × configuration × latency, ActorThrottle and the baselines in one run.</summary>
public static class Matrix
{
    /// <summary>Seconds of work at the real limit in a not-configured cell, and from when it is judged.</summary>
    public const double NotConfiguredSeconds = ProviderZoo.NotConfiguredSeconds, JudgedFrom = ProviderZoo.JudgedFrom;

    /// <summary>The provider zoo (<see cref="ProviderZoo.Shapes"/>, shared with the virtual-time matrix of the tests) as matrix shapes.</summary>
    public static IReadOnlyList<ProviderShape> Shapes() =>
        ProviderZoo.Shapes.Select(z => new ProviderShape(z.Key, z.Title, z.SeenAt, z.LimitRps, z.Settings)
        {
            NeedsLatency = z.NeedsLatency,
            Schedule = z.Schedule,
            Backlog = z.Backlog,
            RealTpm = z.RealTpm,
            StatedRps = z.StatedRps,
            Zoo = z,
        }).ToList();

    /// <summary>Tokens per minute that bind at <paramref name="rps"/> requests per second of the matrix's requests (counted as the simulator counts them).</summary>
    public static double TokensPerMinute(double rps) => ProviderZoo.TokensPerMinute(rps);

    /// <summary>One cell: the scenario that drives <paramref name="shape"/> configured as <paramref name="config"/> at a latency.</summary>
    public static Scenario Cell(ProviderShape shape, MatrixConfig config, bool latency, bool quick)
    {
        var n = shape.Zoo.BacklogFor(configured: config.Factor is not null, quick);
        var stated = shape.StatedRps ?? shape.LimitRps;
        var model = new ModelSpec("m", shape.LimitRps, config.Factor is { } f ? stated * f : 0, n)
        {
            RealTpm = shape.RealTpm,
            ConfiguredTpm = config.Factor is { } g ? shape.RealTpm * g : 0,
        };
        var schedule = shape.Schedule(quick);

        return new Scenario($"{shape.Key}.{config.Key}.{(latency ? "lat" : "lat0")}", $"{shape.Title} — {config.Title}, latency {(latency ? "100–300 ms" : "0")}", [model])
        {
            Latency = latency ? TimeSpan.FromMilliseconds(100) : TimeSpan.Zero,
            LatencyJitter = latency ? TimeSpan.FromMilliseconds(200) : TimeSpan.Zero,
            Schedule = schedule,
            CapSeconds = shape.Zoo.CapSeconds(n, quick),
            Provider = _ => shape.Build(quick) with
            {
                Latency = latency ? TimeSpan.FromMilliseconds(100) : TimeSpan.Zero,
                LatencyJitter = latency ? TimeSpan.FromMilliseconds(200) : TimeSpan.Zero,
                Schedule = schedule,
            },
        };
    }

    /// <summary>
    /// Seconds from the start until the accepted rate, averaged over 3 s, first reaches 95 % of the real limit; null = never.
    /// </summary>
    public static double? SecondsToLimit(Scenario s, ModelResult h)
    {
        var spec = s.Models[0];
        var points = h.PerSecond.Where(p => p.T >= -0.5).OrderBy(p => p.T).ToList();
        for (var i = 0; i + 2 < points.Count; i++)
        {
            var t = Math.Max(0, points[i].T);
            if (points[i + 2].T + 1 > h.DrainSeconds)
            {
                break;
            }

            var accepted = points[i].Accepted + points[i + 1].Accepted + points[i + 2].Accepted;
            var allowed = s.LimitIntegral(spec, points[i + 2].T + 1) - s.LimitIntegral(spec, t);
            if (allowed > 0 && accepted >= 0.95 * allowed)
            {
                return t;
            }
        }

        return null;
    }

    /// <summary>Runs the cells asked for, writes JSON per run and returns the report's markdown.</summary>
    /// <param name="baselineNames">The baselines to run (<c>--baseline</c>: "all", or names such as <c>at-default,polly</c>); the peers' columns show "–" for those left out.</param>
    public static async Task<string> RunAsync(bool quick, ISet<string> shapes, ISet<string> configs, bool? latencyOnly, int repeat, string outDir, string plotsDir, string baselineNames = "all")
    {
        var wantedBaselines = baselineNames.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var md = new StringBuilder();
        var selected = Shapes().Where(s => shapes.Count == 0 || shapes.Contains(s.Key)).ToList();
        var latencies = latencyOnly is { } l ? [l] : new[] { false, true };
        var results = new List<MatrixRun>();
        // One unmeasured run first: the process's JIT and first-use costs would otherwise land on whichever cell runs first,
        // and only on ActorThrottle (the baselines of that cell run after it, warm).
        var warmUp = Cell(Shapes()[0], MatrixConfig.All[0], latency: false, quick: true);
        Console.WriteLine($"   warm-up ({warmUp.Key}, not reported): {(await Program.RunOneAsync(warmUp, new ActorThrottleBaseline(tuned: false))).OneLine()}");
        foreach (var latency in latencies)
        {
            foreach (var shape in selected)
            {
                if (shape.NeedsLatency && !latency)
                {
                    continue;
                }

                foreach (var config in MatrixConfig.All.Where(c => configs.Count == 0 || configs.Contains(c.Key)))
                {
                    var scenario = Cell(shape, config, latency, quick);
                    foreach (var baseline in BaselinesFor(config, quick).Where(b => wantedBaselines.Contains("all") || wantedBaselines.Contains(b.Name)))
                    {
                        for (var k = 0; k < repeat; k++)
                        {
                            var run = await Program.RunOneAsync(scenario, baseline);
                            results.Add(new MatrixRun(shape, config, latency, scenario, run));
                            Console.WriteLine($"   {scenario.Key,-40} {run.OneLine()}");
                            await File.WriteAllTextAsync(Path.Combine(outDir, $"m-{scenario.Key}-{baseline.Name}-{k}.json"), JsonSerializer.Serialize(run, Program.JsonOptions));
                        }
                    }
                }
            }
        }

        md.AppendLine("## Provider zoo matrix");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Quick mode = {quick}. Backlog {(quick ? "400" : "1,200")} requests submitted at t = 0 (per shape where noted; not configured: {NotConfiguredSeconds:0} s of work at the limit, judged over the full seconds from t = {JudgedFrom:0} s on, \"after 10 s\"), cap 1.5 × ideal + 8 s; one unmeasured warm-up run first (tb-openai, known, latency 0); {repeat} run(s) per cell (the median is shown when more). Goodput = successes ÷ (real limit × time from the first send to the last reply); steady = accepted ÷ allowed over the full seconds from t = 2 s to 2 s before the end; rejected = 429 share of the attempts the provider saw; t95 = seconds until the 3 s mean accepted rate first reaches 95 % of the limit.");
        md.AppendLine();
        md.AppendLine("| shape | what | seen at | real limit |");
        md.AppendLine("|---|---|---|---|");
        foreach (var s in selected)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| `{s.Key}` | {s.Title} | {s.SeenAt} | {s.LimitRps:0} req/s |");
        }

        md.AppendLine();
        foreach (var latency in latencies)
        {
            foreach (var config in MatrixConfig.All.Where(c => configs.Count == 0 || configs.Contains(c.Key)))
            {
                var rows = results.Where(r => r.Config == config && r.Latency == latency).ToList();
                if (rows.Count == 0)
                {
                    continue;
                }

                md.AppendLine(CultureInfo.InvariantCulture, $"### {config.Title}, latency {(latency ? "100–300 ms" : "0")}");
                md.AppendLine();
                md.AppendLine("| shape | at-default goodput | steady | after 10 s | rejected | rejected after 10 s | svc p95 s | e2e p95 s | t95 s | unfinished | polly goodput (rejected) | seed-5 goodput (rejected) | sdk-50 goodput (rejected) | at ÷ best peer |");
                md.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
                foreach (var shape in selected)
                {
                    var at = Median(rows.Where(r => r.Shape == shape && r.Run.Baseline == "at-default"));
                    if (at is null)
                    {
                        continue;
                    }

                    // Polly is configured like the engine; the seed pattern and the SDK know no limit, so their one run serves every column.
                    var peers = new[] { "polly", "seed-5", "sdk-50" }.Select(name => Median(
                        results.Where(r => r.Shape == shape && r.Latency == latency && r.Run.Baseline == name && (name != "polly" || r.Config == config)))).ToList();
                    var h = at.Run.Headline;
                    var best = peers.Where(p => p is not null).Select(p => p!.Run.Headline.GoodputToLimit).DefaultIfEmpty(double.NaN).Max();
                    md.AppendLine(string.Create(CultureInfo.InvariantCulture,
                        $"| `{shape.Key}` | {h.GoodputToLimit:0.000} | {Report.Steady(at.Scenario, h)} | {Report.Steady(at.Scenario, h, JudgedFrom)} | {h.Share429:P1} | {Report.RejectedFrom(h, JudgedFrom)} | {h.Service.P95:0.00} | {h.Total.P95:0.00} | {Fmt(SecondsToLimit(at.Scenario, h))} | {h.Unfinished} | {Peer(peers[0])} | {Peer(peers[1])} | {Peer(peers[2])} | {(double.IsNaN(best) ? "–" : (h.GoodputToLimit / best).ToString("0.00", CultureInfo.InvariantCulture))} |"));
                }

                md.AppendLine();
            }
        }

        if (repeat > 1)
        {
            md.Append(Spread(results));
        }

        foreach (var shape in selected)
        {
            var runs = results.Where(r => r.Shape == shape && r.Latency == latencies[^1] && r.Run.Baseline == "at-default").GroupBy(r => r.Config).Select(g => g.First()).ToList();
            if (runs.Count > 0)
            {
                Plots.Shape(shape, runs.Select(r => (r.Config.Key, r.Scenario, r.Run)).ToList(), plotsDir);
            }
        }

        return md.ToString();
    }

    private static IEnumerable<Baseline> BaselinesFor(MatrixConfig config, bool quick)
    {
        yield return new ActorThrottleBaseline(tuned: false);
        if (config.Factor is not null && (!quick || config.Factor == 1))
        {
            yield return new PollyBaseline();
        }

        // They ignore the configured limit: one run per shape and latency (the known column) stands for all four.
        if (config.Factor == 1)
        {
            yield return new SeedPattern(5);
            yield return new SdkDefault(50);
        }
    }

    private static MatrixRun? Median(IEnumerable<MatrixRun> runs)
    {
        var list = runs.OrderBy(r => r.Run.Headline.GoodputToLimit).ToList();
        return list.Count == 0 ? null : list[list.Count / 2];
    }

    private static string Peer(MatrixRun? run) =>
        run is { } r ? string.Create(CultureInfo.InvariantCulture, $"{r.Run.Headline.GoodputToLimit:0.000} ({r.Run.Headline.Share429:P0})") : "–";

    private static string Fmt(double? v) => v is { } x ? x.ToString("0", CultureInfo.InvariantCulture) : "never";

    private static string Spread(List<MatrixRun> results)
    {
        var sb = new StringBuilder();
        sb.AppendLine("### Spread over the repeated runs (at-default goodput min / median / max, rejected max)");
        sb.AppendLine();
        sb.AppendLine("| cell | runs | goodput min | median | max | rejected max |");
        sb.AppendLine("|---|---|---|---|---|---|");
        foreach (var g in results.Where(r => r.Run.Baseline == "at-default").GroupBy(r => r.Scenario.Key))
        {
            var gp = g.Select(r => r.Run.Headline.GoodputToLimit).Order().ToList();
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| `{g.Key}` | {gp.Count} | {gp[0]:0.000} | {gp[gp.Count / 2]:0.000} | {gp[^1]:0.000} | {g.Max(r => r.Run.Headline.Share429):P1} |"));
        }

        sb.AppendLine();
        return sb.ToString();
    }
}
