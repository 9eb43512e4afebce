using System.Globalization;
using System.Text;
using ActorThrottle.Adaptation;
using ActorThrottle.Configuration;
using ActorThrottle.Messages;
using ActorThrottle.Simulator;
using ActorThrottle.Tokens;
using Microsoft.Extensions.Time.Testing;
using EngineSettings = ActorThrottle.Configuration.ModelSettings;

namespace ActorThrottle.Tests.Adaptation;

/// <summary>How the client is configured relative to the real limit, as in the benchmark's MatrixConfig.</summary>
internal sealed record VirtualMatrixConfig(string Key, string Title, double? Factor)
{
    public static readonly VirtualMatrixConfig[] All =
    [
        new("known", "limit configured right", 1),
        new("2x", "configured 2× too high", 2),
        new("10x", "configured 10× too high", 10),
        new("none", "not configured (the reference default applies)", null),
    ];

    public static VirtualMatrixConfig Of(string key) => All.Single(c => c.Key == key);
}

/// <summary>What the virtual matrix cannot take from the benchmark's code: where the run falls on the clock, the machine's transit times, the seed.</summary>
/// <param name="Phase">
/// Where t = 0 falls after a whole minute: limits whose windows are aligned to the clock (fixed windows, sliding-window
/// counters) and headers in whole seconds (HTTP dates, RFC 3339 instants) depend on it; a real run starts anywhere.
/// </param>
/// <param name="TransitMs">The answer's transit from the provider's write to the supervisor, in ms, drawn uniformly per answer, at latency 0 and at 100–300 ms.</param>
/// <param name="Seed">The supervisor's random (retry jitter); the benchmark's engine uses 17.</param>
/// <param name="TimerLateMs">How late Akka's scheduler fires a timer after its 10 ms tick, in ms, drawn uniformly per timer.</param>
internal sealed record VirtualMatrixOptions(TimeSpan Phase, (int Low, int High) TransitMs, (int Low, int High) TransitMsWithLatency, int Seed = 17)
{
    public (int Low, int High) TimerLateMs { get; init; } = (0, 0);

    /// <summary>
    /// Half a second past a whole minute (a real run starts anywhere; at a whole second every whole-second header and 1 s
    /// window lines up with the run, which no real run sees), 1 ms transit, timers 0-5 ms late after their tick (a busy
    /// machine; it brings the 10x cells' 429 shares closer to the real ones). Against the 2026-12-07 quick matrix this is
    /// the best fit of those tried (phases 0-4.1 s, transits up to 100 ms, lateness up to 30 ms): docs/benchmarks.md,
    /// "The matrix on virtual time".
    /// </summary>
    public static readonly VirtualMatrixOptions Default = new(TimeSpan.FromMilliseconds(500), (1, 1), (1, 1)) { TimerLateMs = (0, 5) };
}

/// <summary>The figures of one virtual cell, computed as the benchmark's Matrix/Report compute them.</summary>
internal sealed record VirtualCellResult(ZooShape Shape, VirtualMatrixConfig Config, bool Latency, bool Quick, int Requests, int Successes,
    IReadOnlyDictionary<string, int> Failures, int Unfinished, long Attempts, long RateLimited, double DrainSeconds,
    IReadOnlyList<SecondStats> Seconds, VirtualPipeline Pipeline)
{
    /// <summary>With several seeds: the lowest and highest goodput of the cell's runs (this one is the median).</summary>
    public (double Min, double Max) GoodputRange { get; init; } = (double.NaN, double.NaN);

    /// <summary>Seconds from the whole second of the clock the buckets count from to t = 0.</summary>
    public double SecondOffset { get; init; }

    /// <summary>Runs of the cell (seeds) this result is the median of.</summary>
    public int Runs { get; init; } = 1;

    /// <summary>Successes ÷ what the real limit allowed from the first send to the last reply (the "at-default goodput").</summary>
    public double Goodput => Successes / Shape.LimitIntegral(DrainSeconds, Quick);

    /// <summary>429s ÷ attempts the provider saw, whole run.</summary>
    public double Share429 => Attempts > 0 ? (double)RateLimited / Attempts : 0;

    /// <summary>Accepted ÷ allowed over the full seconds from <paramref name="from"/> to 2 s before the end; null when there are none.</summary>
    public double? Steady(double from)
    {
        var buckets = Buckets(from);
        if (buckets.Count == 0)
        {
            return null;
        }

        var allowed = buckets.Sum(p => Shape.LimitIntegral(T(p) + 1, Quick) - Shape.LimitIntegral(Math.Max(0, T(p)), Quick));
        return buckets.Sum(p => p.Counters.Accepted) / allowed;
    }

    /// <summary>The 429 share of the attempts over the same seconds as <see cref="Steady"/>; null when there are none.</summary>
    public double? RejectedFrom(double from)
    {
        var buckets = Buckets(from);
        var attempts = buckets.Sum(p => p.Counters.Accepted + p.Counters.RateLimited);
        return buckets.Count == 0 || attempts == 0 ? null : (double)buckets.Sum(p => p.Counters.RateLimited) / attempts;
    }

    public string Key => $"{Shape.Key}.{Config.Key}.{(Latency ? "lat" : "lat0")}";

    public string OneLine() => string.Create(CultureInfo.InvariantCulture,
        $"{Key}: ok {Successes}/{Requests} goodput {Goodput:0.000} after 10 s {Fmt(Steady(10))} 429 {Share429:P1} (after 10 s {Pct(RejectedFrom(10))}) drain {DrainSeconds:0.0}s unfinished {Unfinished} fail {string.Join(",", Failures.Select(f => $"{f.Key}={f.Value}"))}");

    public string Describe()
    {
        var ci = CultureInfo.InvariantCulture;
        return OneLine() + "; rate/burst/in-flight by second: "
            + string.Join(" ", Pipeline.AtSecond.Select(s => $"{s.Rate.ToString("0.#", ci)}/{s.Burst}/{s.InFlightLimit}"))
            + $"; accepted by clock second (from t = {(-SecondOffset).ToString("0.0##", ci)} s): " + string.Join(" ", Seconds.Select(s => s.Counters.Accepted))
            + "; 429s by second: " + string.Join(" ", Seconds.Select(s => s.Counters.RateLimited))
            + "; changes: " + string.Join(" | ", Pipeline.Changes.Take(40).Select(c =>
                $"{(c.At - Pipeline.Start).TotalSeconds.ToString("0.000", ci)}s {c.Before.Rate.ToString("0.#", ci)}->{c.After.Rate.ToString("0.#", ci)} b{c.After.Burst}{(c.After.TokensPerMinute > 0 ? $" t{c.Before.TokensPerMinute}->{c.After.TokensPerMinute}" : "")} {c.Reason}{(Environment.GetEnvironmentVariable("VIRTUAL_MATRIX_WHY") is null ? "" : " [" + c.Detail + "]")}"))
            + (Environment.GetEnvironmentVariable("VIRTUAL_MATRIX_WHY") is null ? "" : "; sent by tenth of a second: " + string.Join(" ", Pipeline.SentByTenth))
            + (Environment.GetEnvironmentVariable("VIRTUAL_MATRIX_WHY") is null ? "" : "; pauses: " + string.Join(" | ", Pipeline.Pauses.Take(400).Select(p =>
                $"until {(p.Until - Pipeline.Start).TotalSeconds.ToString("0.000", ci)}s{(p.Empty ? " emptied" : "")} [{p.Cause}]")));
    }

    /// <summary>Where a bucket starts, in seconds from t = 0 (the benchmark's <c>SecondPoint.T</c>: buckets are whole seconds of the clock).</summary>
    public double T(SecondStats bucket) => bucket.Second - SecondOffset;

    // As Report.Steady: the full buckets from `from` on that end 2 s before the drain.
    private List<SecondStats> Buckets(double from) => Seconds.Where(p => T(p) >= from && T(p) + 1 <= DrainSeconds - 2).ToList();

    internal static string Fmt(double? v) => v is { } x ? x.ToString("0.000", CultureInfo.InvariantCulture) : "–";

    internal static string Pct(double? v) => v is { } x ? x.ToString("P1", CultureInfo.InvariantCulture) : "–";
}

/// <summary>
/// The benchmark's provider-zoo matrix (<c>--scenario matrix --quick</c>) on virtual time: every <see cref="ProviderZoo"/>
/// shape × configuration × latency, the same backlogs and caps (<see cref="ZooShape.BacklogFor"/>,
/// <see cref="ZooShape.CapSeconds"/>), the simulator's own model (<see cref="SimulatorShape"/>) and the engine's model
/// settings parsed from the HOCON the benchmark's at-default baseline writes, run by <see cref="VirtualPipeline"/>.
/// Deterministic; a whole matrix takes seconds.
/// </summary>
internal static class VirtualMatrix
{
    /// <summary>Runs one cell.</summary>
    public static VirtualCellResult Run(ZooShape shape, VirtualMatrixConfig config, bool latency, VirtualMatrixOptions? options = null, bool quick = true)
    {
        options ??= VirtualMatrixOptions.Default;
        var n = shape.BacklogFor(configured: config.Factor is not null, quick);
        var cap = shape.CapSeconds(n, quick);
        var schedule = shape.Schedule(quick);
        var simulator = shape.Settings(quick) with
        {
            Latency = latency ? TimeSpan.FromMilliseconds(100) : TimeSpan.Zero,
            LatencyJitter = latency ? TimeSpan.FromMilliseconds(200) : TimeSpan.Zero,
            Schedule = schedule,
        };
        var settings = EngineSettingsFor(shape, config);
        var start = VirtualPipeline.T0 + options.Phase;
        var clock = new FakeTimeProvider(start);
        var provider = new SimulatorShape(simulator, clock);
        var (low, high) = latency ? options.TransitMsWithLatency : options.TransitMs;
        var transitRandom = new Random(options.Seed + 1000);
        var pipeline = new VirtualPipeline(settings, provider, clock, new Random(options.Seed),
            () => TimeSpan.FromMilliseconds(low == high ? low : transitRandom.Next(low, high + 1)),
            () => TimeSpan.FromMilliseconds(options.TimerLateMs.Low == options.TimerLateMs.High ? options.TimerLateMs.Low : transitRandom.Next(options.TimerLateMs.Low, options.TimerLateMs.High + 1)));
        var backlog = Backlog(n, settings);
        pipeline.Run(backlog, cap);

        var stats = provider.Runtime.Snapshot(start);
        var totals = stats.Totals;
        var unfinished = backlog.Count(r => r.End < 0);
        var drain = unfinished > 0 ? cap : backlog.Max(r => r.End);
        return new VirtualCellResult(shape, config, latency, quick, n,
            backlog.Count(r => r.Outcome == "Success"),
            backlog.Where(r => r.End >= 0 && r.Outcome != "Success").GroupBy(r => r.Outcome).ToDictionary(g => g.Key, g => g.Count()),
            unfinished,
            totals.Accepted + totals.RateLimited + totals.QuotaExceeded + totals.ServerErrors + totals.Resets + totals.Hangs,
            totals.RateLimited,
            drain,
            stats.PerSecond,
            pipeline)
        {
            SecondOffset = provider.SecondOffset,
        };
    }

    /// <summary>
    /// The model's settings exactly as the benchmark's at-default baseline configures them: reference defaults, a queue of
    /// 100,000, and only the configured rate (and token rate) under the model; nothing for "none".
    /// </summary>
    public static EngineSettings EngineSettingsFor(ZooShape shape, VirtualMatrixConfig config)
    {
        var ci = CultureInfo.InvariantCulture;
        var stated = shape.StatedRps ?? shape.LimitRps;
        var keys = config.Factor is { } f
            ? $"requests-per-second = {(stated * f).ToString(ci)}, tokens-per-minute = {(shape.RealTpm * f).ToString(ci)}"
            : "";
        var hocon = $$"""
            actor-throttle {
              endpoint = "http://127.0.0.1:9/v1"
              api-key = "sk-bench"
              request-timeout = 30s
              defaults {
                queue-size = 100000
              }
              models {
                "m" { {{keys}} }
              }
            }
            """;
        return ActorThrottleSettings.Parse(hocon, _ => null).ForModel("m")
            ?? throw new InvalidOperationException("model m is configured");
    }

    /// <summary>The matrix's backlog: request i says "Say hello to request i." with 16 max tokens.</summary>
    private static List<VirtualRequest> Backlog(int n, EngineSettings settings) =>
        Enumerable.Range(0, n).Select(i =>
        {
            var request = new ChatRequest("m", [ChatMessage.User(ProviderZoo.Prompt(i))]) { MaxTokens = ProviderZoo.BacklogMaxTokens };
            return new VirtualRequest(i, RequestCost.Of(request, settings), PromptTokenCounter.Count(ProviderZoo.Prompt(i)), ProviderZoo.BacklogMaxTokens);
        }).ToList();

    /// <summary>Every cell of the quick matrix for the shapes named (all when empty), in the benchmark's order.</summary>
    /// <param name="seeds">Supervisor seeds to run each cell with (the figures of the median run by goodput are shown, with the range).</param>
    public static List<VirtualCellResult> RunAll(IReadOnlyCollection<string> shapes, VirtualMatrixOptions? options = null, bool quick = true, IReadOnlyList<int>? seeds = null)
    {
        options ??= VirtualMatrixOptions.Default;
        seeds ??= [options.Seed];
        var cells = new List<(ZooShape Shape, VirtualMatrixConfig Config, bool Latency)>();
        foreach (var latency in new[] { false, true })
        {
            foreach (var shape in ProviderZoo.Shapes.Where(s => shapes.Count == 0 || shapes.Contains(s.Key)))
            {
                if (shape.NeedsLatency && !latency)
                {
                    continue;
                }

                cells.AddRange(VirtualMatrixConfig.All.Select(c => (shape, c, latency)));
            }
        }

        var runs = new VirtualCellResult[cells.Count * seeds.Count];
        // Cells share nothing: two at a time, each deterministic.
        Parallel.For(0, runs.Length, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i =>
        {
            var (shape, config, latency) = cells[i / seeds.Count];
            runs[i] = Run(shape, config, latency, options with { Seed = seeds[i % seeds.Count] }, quick);
        });
        return runs.Chunk(seeds.Count).Select(same =>
        {
            var ordered = same.OrderBy(r => r.Goodput).ToList();
            return ordered[ordered.Count / 2] with { GoodputRange = (ordered[0].Goodput, ordered[^1].Goodput), Runs = ordered.Count };
        }).ToList();
    }

    /// <summary>The markdown tables, one per latency × configuration, with the real run's figures beside when given.</summary>
    public static string Markdown(IReadOnlyList<VirtualCellResult> results, RealMatrixFigures? real)
    {
        var md = new StringBuilder();
        md.AppendLine("## Provider zoo matrix on virtual time");
        md.AppendLine();
        md.AppendLine((results.All(r => r.Quick) ? "Quick mode, as `--scenario matrix --quick`" : "Full mode, as `--scenario matrix` (1,200-request backlogs)")
            + ": same shapes, backlogs, caps and engine settings (at-default); 1 ms steps, deterministic"
            + (results.Any(r => r.Runs > 1) ? $"; {results.Max(r => r.Runs)} supervisor seeds per cell, the median run by goodput shown with the range. " : ". ")
            + "Goodput = successes ÷ (real limit × time from the first send to the last reply); after 10 s = accepted ÷ allowed over the full seconds from t = 10 s to 2 s before the end; "
            + "rejected = 429 share of the attempts the provider saw."
            + (real is null ? "" : $" Real = the benchmark run in `{real.Source}`; Δ = virtual − real goodput."));
        md.AppendLine();
        foreach (var latency in new[] { false, true })
        {
            foreach (var config in VirtualMatrixConfig.All)
            {
                var rows = results.Where(r => r.Config == config && r.Latency == latency).ToList();
                if (rows.Count == 0)
                {
                    continue;
                }

                md.AppendLine(CultureInfo.InvariantCulture, $"### {config.Title}, latency {(latency ? "100–300 ms" : "0")}");
                md.AppendLine();
                var spread = rows.Any(r => r.Runs > 1);
                md.AppendLine((spread ? "| shape | goodput | goodput min–max |" : "| shape | goodput |")
                    + " after 10 s | rejected | rejected after 10 s | unfinished | failed | drain s |"
                    + (real is null ? "" : " real goodput | real after 10 s | real rejected | real rejected after 10 s | Δ goodput |"));
                md.AppendLine((spread ? "|---|---|---|" : "|---|---|") + "---|---|---|---|---|---|" + (real is null ? "" : "---|---|---|---|---|"));
                foreach (var r in rows)
                {
                    var line = string.Create(CultureInfo.InvariantCulture,
                        $"| `{r.Shape.Key}` | {r.Goodput:0.000} |{(spread ? $" {r.GoodputRange.Min:0.000}–{r.GoodputRange.Max:0.000} |" : "")} {VirtualCellResult.Fmt(r.Steady(ProviderZoo.JudgedFrom))} | {r.Share429:P1} | {VirtualCellResult.Pct(r.RejectedFrom(ProviderZoo.JudgedFrom))} | {r.Unfinished} | {r.Failures.Values.Sum()} | {r.DrainSeconds:0.0} |");
                    if (real is not null)
                    {
                        var row = real.Find(r.Shape.Key, config.Key, latency);
                        line += row is null ? " – | – | – | – | – |"
                            : string.Create(CultureInfo.InvariantCulture, $" {row.Goodput} | {row.After10} | {row.Rejected} | {row.RejectedAfter10} | {Delta(r.Goodput, row.Goodput)} |");
                    }

                    md.AppendLine(line);
                }

                md.AppendLine();
            }
        }

        return md.ToString();
    }

    private static string Delta(double goodput, string real) =>
        double.TryParse(real, NumberStyles.Float, CultureInfo.InvariantCulture, out var r) ? (goodput - r).ToString("+0.000;-0.000;0.000", CultureInfo.InvariantCulture) : "–";
}

/// <summary>The at-default figures of a real matrix run, read from its <c>results.md</c> (the benchmark's tables).</summary>
internal sealed class RealMatrixFigures
{
    private readonly Dictionary<(string Shape, string Config, bool Latency), Row> _rows = [];

    private RealMatrixFigures(string source) => Source = source;

    public string Source { get; }

    public sealed record Row(string Goodput, string After10, string Rejected, string RejectedAfter10);

    public Row? Find(string shape, string config, bool latency) => _rows.GetValueOrDefault((shape, config, latency));

    public static RealMatrixFigures Read(string path, string source)
    {
        var figures = new RealMatrixFigures(source);
        (string Config, bool Latency)? section = null;
        foreach (var line in File.ReadLines(path))
        {
            if (line.StartsWith("### ", StringComparison.Ordinal))
            {
                var config = VirtualMatrixConfig.All.FirstOrDefault(c => line.StartsWith($"### {c.Title}, latency", StringComparison.Ordinal));
                section = config is null ? null : (config.Key, !line.EndsWith("latency 0", StringComparison.Ordinal));
                continue;
            }

            if (section is { } s && line.StartsWith("| `", StringComparison.Ordinal))
            {
                // | shape | at-default goodput | steady | after 10 s | rejected | rejected after 10 s | ...
                var cells = line.Split('|').Select(c => c.Trim()).ToArray();
                figures._rows[(cells[1].Trim('`'), s.Config, s.Latency)] = new Row(cells[2], cells[4], cells[5], cells[6]);
            }
        }

        return figures;
    }
}
