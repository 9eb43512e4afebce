using System.Globalization;
using System.Text;
using ActorThrottle.Simulator;
using Microsoft.ML.Tokenizers;

namespace ActorThrottle.Benchmarks;

/// <summary>Per-second counts as the provider saw them, t = seconds from the run's start (bucket start).</summary>
public sealed record SecondPoint(double T, long Accepted, long RateLimited, long ServerErrors);

public sealed record Percentiles(double P50, double P95, double P99, double Max)
{
    public static Percentiles Of(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
        {
            return new(double.NaN, double.NaN, double.NaN, double.NaN);
        }
        var sorted = values.Order().ToArray();
        double At(double q) => sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];
        return new(At(0.50), At(0.95), At(0.99), sorted[^1]);
    }
}

/// <summary>Figures of one model in one run.</summary>
public sealed record ModelResult
{
    public required string Model { get; init; }
    public required bool Headline { get; init; }
    public required int Requests { get; init; }
    public required int Successes { get; init; }
    public required Dictionary<string, int> Failures { get; init; }
    public required int Unfinished { get; init; }
    /// <summary>Calls the provider saw (200 + 429 + 5xx + resets + hangs).</summary>
    public required long Attempts { get; init; }
    public required long RateLimited { get; init; }
    public required long TokensCharged { get; init; }
    /// <summary>From the first send (t = 0) to the last reply of this model.</summary>
    public required double DrainSeconds { get; init; }
    public required double Goodput { get; init; }
    /// <summary>Successes ÷ what the real limit allowed in [0, drain] (∫limit dt), initial bucket not counted in the allowance.</summary>
    public required double GoodputToLimit { get; init; }
    /// <summary>(Successes − the provider's initial bucket) ÷ ∫limit dt: the sustained rate against the limit.</summary>
    public required double GoodputToLimitExBurst { get; init; }
    public required Percentiles Service { get; init; }
    public required Percentiles Total { get; init; }
    /// <summary>Scenario 3: seconds after the drop until every later 1 s bucket has fewer than 2% 429s (null: never, NaN: n/a).</summary>
    public double? SettleSeconds { get; init; }
    public required List<SecondPoint> PerSecond { get; init; }

    public double AttemptsPerSuccess => Successes > 0 ? (double)Attempts / Successes : double.NaN;
    public double Share429 => Attempts > 0 ? (double)RateLimited / Attempts : 0;
}

public sealed record RunResult
{
    public required string Scenario { get; init; }
    public required string Baseline { get; init; }
    public required double WallSeconds { get; init; }
    public required List<ModelResult> Models { get; init; }
    public required List<EngineSample> EngineSeries { get; init; }

    public ModelResult Headline => Models.First(m => m.Headline);

    public string OneLine()
    {
        var h = Headline;
        return string.Create(CultureInfo.InvariantCulture,
            $"{Baseline,-10} ok {h.Successes}/{h.Requests} gp/limit {h.GoodputToLimitExBurst:0.000} (incl burst {h.GoodputToLimit:0.000}) 429 {h.Share429:P1} att/ok {h.AttemptsPerSuccess:0.00} svc p95 {h.Service.P95:0.00}s drain {h.DrainSeconds:0.0}s unfinished {h.Unfinished} fail {string.Join(",", h.Failures.Select(f => $"{f.Key}={f.Value}"))}");
    }

    public static RunResult Build(Scenario scenario, Baseline baseline, List<RequestRecord> records, SimulatorStats stats, double startUnix, double wall, List<EngineSample> engine)
    {
        var models = new List<ModelResult>();
        foreach (var m in scenario.Models)
        {
            var mine = records.Where(r => r.Work.Model == m.Id).ToList();
            var ok = mine.Where(r => r.Succeeded).ToList();
            var finished = mine.Where(r => r.End >= 0).ToList();
            var unfinished = mine.Count(r => r.End < 0);
            var drain = unfinished > 0 ? scenario.CapSeconds : finished.Count > 0 ? finished.Max(r => r.End) : scenario.CapSeconds;
            var counters = stats.Models.TryGetValue(m.Id, out var ms) ? ms.Totals : StatsCounters.Zero;
            var perSecond = ms?.PerSecond.Select(p => new SecondPoint(p.UnixSecond - startUnix, p.Counters.Accepted, p.Counters.RateLimited, p.Counters.ServerErrors)).ToList() ?? [];
            var attempts = counters.Accepted + counters.RateLimited + counters.QuotaExceeded + counters.ServerErrors + counters.Resets + counters.Hangs;
            double ratio, ratioEx;
            if (scenario.TokenBound && m.RealTpm > 0)
            {
                var perSec = m.RealTpm / 60;
                ratio = counters.TokensCharged / (perSec * drain);
                ratioEx = (counters.TokensCharged - perSec) / (perSec * drain);
            }
            else
            {
                var allowed = scenario.LimitIntegral(m, drain);
                ratio = ok.Count / allowed;
                ratioEx = (ok.Count - m.RealRps) / allowed;
            }
            double? settle = double.NaN;
            if (scenario.DropAt is { } at)
            {
                settle = SettleAfter(perSecond, at, drain);
            }
            models.Add(new ModelResult
            {
                Model = m.Id,
                Headline = m.Headline,
                Requests = mine.Count,
                Successes = ok.Count,
                Failures = mine.Where(r => !r.Succeeded && r.End >= 0).GroupBy(r => r.Outcome).ToDictionary(g => g.Key, g => g.Count()),
                Unfinished = unfinished,
                Attempts = attempts,
                RateLimited = counters.RateLimited,
                TokensCharged = counters.TokensCharged,
                DrainSeconds = drain,
                Goodput = ok.Count / drain,
                GoodputToLimit = ratio,
                GoodputToLimitExBurst = ratioEx,
                Service = Percentiles.Of(ok.Select(r => r.End - r.FirstAttempt).ToList()),
                Total = Percentiles.Of(ok.Select(r => r.End - r.Submit).ToList()),
                SettleSeconds = settle,
                PerSecond = perSecond,
            });
        }
        return new RunResult { Scenario = scenario.Key, Baseline = baseline.Name, WallSeconds = wall, Models = models, EngineSeries = engine };
    }

    /// <summary>The first 1 s bucket after the drop from which every bucket up to the drain has &lt; 2% 429s; seconds after the drop.</summary>
    private static double? SettleAfter(List<SecondPoint> points, double dropAt, double drain)
    {
        var after = points.Where(p => p.T + 1 > dropAt && p.T < drain - 1).OrderBy(p => p.T).ToList();
        for (var i = 0; i < after.Count; i++)
        {
            if (after.Skip(i).All(p => p.Accepted + p.RateLimited == 0 || (double)p.RateLimited / (p.Accepted + p.RateLimited + p.ServerErrors) < 0.02))
            {
                return Math.Max(0, after[i].T - dropAt);
            }
        }
        return null;
    }
}

public static class Report
{
    public static string ScenarioTable(Scenario s, List<RunResult> runs, string loadBefore, string loadAfter)
    {
        var sb = new StringBuilder();
        var headlineModel = s.Models.First(m => m.Headline);
        sb.AppendLine(CultureInfo.InvariantCulture, $"### Scenario {s.Key}: {s.Title}");
        sb.AppendLine();
        var models = string.Join("; ", s.Models.Select(m => s.TokenBound
            ? $"`{m.Id}`: real {m.RealTpm:0} tokens/min (+{m.RealRps:0} req/s), configured {m.ConfiguredTpm:0} tokens/min, {m.Requests} requests"
            : $"`{m.Id}`: real {m.RealRps:0}/s, configured {m.ConfiguredRps:0}/s, {m.Requests} requests"));
        sb.Append(CultureInfo.InvariantCulture,
            $"{models}; latency {s.Latency.TotalMilliseconds:0}+U(0,{s.LatencyJitter.TotalMilliseconds:0}) ms; 503s {s.Error503Rate:P0}; charge rejected {s.ChargeRejected}; cap {s.CapSeconds:0} s. Load average before {loadBefore}, after {loadAfter}.");
        sb.AppendLine(s.Models.Count > 1 ? $" Figures for `{headlineModel.Id}`." : "");
        sb.AppendLine();
        var seed = runs.FirstOrDefault(r => r.Baseline == "seed-5")?.Headline;
        sb.AppendLine(s.DropAt is null
            ? "| baseline | goodput/limit | steady/limit | × seed-5 | ok | failed (reason) | unfinished | attempts/ok | 429 share | service p50/p95/p99 s | total p50/p95/p99 s | drain s |"
            : "| baseline | goodput/limit | steady/limit | × seed-5 | ok | failed (reason) | unfinished | attempts/ok | 429 share | service p50/p95/p99 s | total p50/p95/p99 s | drain s | 429s < 2% after s |");
        sb.AppendLine(s.DropAt is null ? "|---|---|---|---|---|---|---|---|---|---|---|---|" : "|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in runs)
        {
            var h = r.Headline;
            var vsSeed = seed is { Goodput: > 0 } ? (h.Goodput / seed.Goodput).ToString("0.00", CultureInfo.InvariantCulture) : "–";
            var failures = h.Failures.Count == 0 ? "0" : string.Join(", ", h.Failures.Select(f => $"{f.Value} {f.Key}"));
            var line = string.Create(CultureInfo.InvariantCulture,
                $"| {r.Baseline} | {h.GoodputToLimit:0.000} | {Steady(s, h)} | {vsSeed} | {h.Successes}/{h.Requests} | {failures} | {h.Unfinished} | {h.AttemptsPerSuccess:0.00} | {h.Share429:P1} | {F(h.Service)} | {F(h.Total)} | {(h.Unfinished > 0 ? ">" : "")}{h.DrainSeconds:0.0} |");
            if (s.DropAt is not null)
            {
                line += h.SettleSeconds is { } v ? string.Create(CultureInfo.InvariantCulture, $" {v:0} |") : " never |";
            }
            sb.AppendLine(line);
        }
        sb.AppendLine();
        return sb.ToString();
    }

    /// <summary>
    /// Accepted per second ÷ the limit over the full 1 s buckets from t = 2 s to 2 s before the drain: the sustained
    /// rate, without the provider's initial bucket and the tail. Requests, not tokens (n/a for the token-bound scenario).
    /// </summary>
    public static string Steady(Scenario s, ModelResult h) => Steady(s, h, from: 2);

    /// <summary>Accepted ÷ allowed over the full seconds from <paramref name="from"/> to 2 s before the end ("–" when there are none).</summary>
    public static string Steady(Scenario s, ModelResult h, double from)
    {
        var spec = s.Models.First(m => m.Id == h.Model);
        if (s.TokenBound)
        {
            return "n/a";
        }
        var buckets = h.PerSecond.Where(p => p.T >= from && p.T + 1 <= h.DrainSeconds - 2).ToList();
        if (buckets.Count == 0)
        {
            return "–";
        }
        var allowed = buckets.Sum(p => (s.LimitIntegral(spec, p.T + 1) - s.LimitIntegral(spec, Math.Max(0, p.T))));
        return (buckets.Sum(p => p.Accepted) / allowed).ToString("0.000", CultureInfo.InvariantCulture);
    }

    /// <summary>The 429 share of the attempts the provider saw over the same seconds as <see cref="Steady(Scenario, ModelResult, double)"/>.</summary>
    public static string RejectedFrom(ModelResult h, double from)
    {
        var buckets = h.PerSecond.Where(p => p.T >= from && p.T + 1 <= h.DrainSeconds - 2).ToList();
        var attempts = buckets.Sum(p => p.Accepted + p.RateLimited);
        return buckets.Count == 0 || attempts == 0 ? "–" : ((double)buckets.Sum(p => p.RateLimited) / attempts).ToString("P1", CultureInfo.InvariantCulture);
    }

    private static string F(Percentiles p) => string.Create(CultureInfo.InvariantCulture, $"{p.P50:0.00}/{p.P95:0.00}/{p.P99:0.00}");
}

/// <summary>Token cost as the engine and simulator count it: o200k prompt tokens + max_tokens.</summary>
public static class TokenCost
{
    private static readonly Lazy<Tokenizer> Tokenizer = new(() => TiktokenTokenizer.CreateForEncoding("o200k_base"));
    private static readonly Dictionary<string, double> Means = [];

    public static double Mean(Scenario s)
    {
        lock (Means)
        {
            if (!Means.TryGetValue(s.Key, out var mean))
            {
                mean = s.BuildBacklog().Average(w => Tokenizer.Value.CountTokens(w.Prompt) + 4 + w.MaxTokens);
                Means[s.Key] = mean;
            }
            return mean;
        }
    }
}
