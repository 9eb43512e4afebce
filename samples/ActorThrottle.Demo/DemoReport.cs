using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Spectre.Console;

namespace ActorThrottle.Demo;

/// <summary>p50/p95/p99 in milliseconds; null when there was no sample.</summary>
internal sealed record LatencySummary(double? P50, double? P95, double? P99, int Samples);

/// <summary>The end figures of one model.</summary>
internal sealed record ModelReport
{
    public required string Model { get; init; }
    public required string Endpoint { get; init; }
    public required int Requests { get; init; }
    public required int Successes { get; init; }
    /// <summary>Failed requests by <see cref="Messages.FailureReason"/> name; only reasons that occurred.</summary>
    public required IReadOnlyDictionary<string, int> Failures { get; init; }
    /// <summary>Requests with no reply at all (the Ask timed out). Should be 0.</summary>
    public required int Unanswered { get; init; }
    /// <summary>Calls made to the provider.</summary>
    public required long Attempts { get; init; }
    public required long RateLimited { get; init; }
    public required long Retries { get; init; }
    /// <summary>From the first request sent to the last reply, seconds.</summary>
    public required double ActiveSeconds { get; init; }
    /// <summary>Successes per second over <see cref="ActiveSeconds"/>.</summary>
    public required double Goodput { get; init; }
    /// <summary>The simulator's configured requests/s for this model; null against a real endpoint (or no limit).</summary>
    public double? RealLimit { get; init; }
    /// <summary><see cref="Goodput"/> ÷ <see cref="RealLimit"/>.</summary>
    public double? GoodputToLimit { get; init; }
    /// <summary>From the first attempt's start to the answer (the engine's <c>ChatSuccess.Latency</c>), successes only.</summary>
    public required LatencySummary Latency { get; init; }
    /// <summary>From the caller's Ask to the reply, queueing included, successes only.</summary>
    public required LatencySummary EndToEnd { get; init; }
    public required int FinalBurst { get; init; }
    public required double FinalRate { get; init; }
    /// <summary>How the final rate was found: configured, seeded from headers, or probed (the engine's <c>ModelStatus.RateFoundBy</c>).</summary>
    public string? RateFoundBy { get; init; }
    /// <summary>How many times the engine changed the model's throttle settings (each logged with its reason).</summary>
    public long? RateChanges { get; init; }
    /// <summary><c>--stream</c>: from the caller's send to the first chunk; null without streaming.</summary>
    public LatencySummary? FirstChunk { get; init; }
    /// <summary><c>--stream</c>: chunks per streamed success; null without streaming.</summary>
    public double? ChunksPerAnswer { get; init; }
    /// <summary><c>--priority</c>: <see cref="EndToEnd"/> per lane (<c>interactive</c>, <c>batch</c>); null when only one lane was used.</summary>
    public IReadOnlyDictionary<string, LatencySummary>? EndToEndByLane { get; init; }
    /// <summary>A model with <c>deployments</c>: each one's share of the answers; null otherwise.</summary>
    public IReadOnlyList<DeploymentReport>? Deployments { get; init; }
}

/// <summary>One deployment of a balanced model at the end of the run.</summary>
/// <param name="Share">Its successes ÷ the model's successes.</param>
/// <param name="RealLimit">The simulated deployment's real limit (req/s); null against a real endpoint.</param>
internal sealed record DeploymentReport(string Name, string Endpoint, long Answered, long Successes, double Share, double FinalRate, string? RateFoundBy,
    long CoolDowns, double? RealLimit);

/// <summary>The whole run.</summary>
internal sealed record RunReport(string Mode, double DurationSeconds, int Requests, IReadOnlyList<ModelReport> Models)
{
    public int Answered => Models.Sum(m => m.Requests - m.Unanswered);
}

/// <summary>Report math (percentiles, goodput), the end table and its JSON.</summary>
internal static class DemoReport
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>
    /// The nearest-rank percentile (the smallest sample with at least <paramref name="percentile"/>% of the samples at or
    /// below it); null for no samples.
    /// </summary>
    public static double? Percentile(IReadOnlyList<double> sortedAscending, double percentile)
    {
        ArgumentNullException.ThrowIfNull(sortedAscending);
        if (percentile is <= 0 or > 100 || double.IsNaN(percentile))
        {
            throw new ArgumentOutOfRangeException(nameof(percentile), percentile, "must be in (0, 100].");
        }
        if (sortedAscending.Count == 0)
        {
            return null;
        }
        var rank = (int)Math.Ceiling(percentile / 100.0 * sortedAscending.Count);
        return sortedAscending[Math.Clamp(rank, 1, sortedAscending.Count) - 1];
    }

    public static LatencySummary Summarize(IEnumerable<double> samplesMs)
    {
        var sorted = samplesMs.Order().ToList();
        return new LatencySummary(Percentile(sorted, 50), Percentile(sorted, 95), Percentile(sorted, 99), sorted.Count);
    }

    /// <summary>Successes per second; 0 when the model was never active.</summary>
    public static double Goodput(int successes, double activeSeconds) =>
        activeSeconds > 0 ? successes / activeSeconds : 0;

    /// <summary>Goodput as a fraction of the real limit; null without a (positive) limit.</summary>
    public static double? Ratio(double goodput, double? realLimit) =>
        realLimit is > 0 ? goodput / realLimit.Value : null;

    /// <summary>Printed under the end table.</summary>
    public const string Legend = "latency: 1st attempt to answer (incl. retries); e2e: Ask to reply (incl. queueing); goodput: ok/s while busy";

    public static string ToJson(RunReport report) => JsonSerializer.Serialize(report, Json);

    /// <summary>The end table: one column per model, one row per figure (fits 80 columns for a few models).</summary>
    /// <summary>The deployments of a balanced model from its status, each with its share of the successes.</summary>
    public static IReadOnlyList<DeploymentReport> Deployments(IReadOnlyList<Models.DeploymentStatus> statuses, Func<string, double?> realLimit)
    {
        var total = Math.Max(1, statuses.Sum(d => d.Successes));
        return statuses.Select(d => new DeploymentReport(d.Name, d.Endpoint, d.Answered, d.Successes, Math.Round((double)d.Successes / total, 3),
            Math.Round(d.Rate, 3), d.RateFoundBy, d.CoolDowns, realLimit(d.Name))).ToList();
    }

    /// <summary>Each deployment's share of a balanced model's successes, next to its learned rate and real limit.</summary>
    public static Table DeploymentsTable(ModelReport model)
    {
        var deployments = model.Deployments ?? [];
        var table = new Table().Border(TableBorder.Rounded).Title(Markup.Escape($"{model.Model}: deployments"));
        foreach (var column in new[] { "deployment", "successes", "share", "final rate (req/s)", "real limit (req/s)", "limit share", "rate found by", "cool-downs" })
        {
            table.AddColumn(new TableColumn(column).RightAligned());
        }
        var limits = deployments.Sum(d => d.RealLimit ?? 0);
        foreach (var d in deployments)
        {
            table.AddRow(Markup.Escape(d.Name), N(d.Successes), d.Share.ToString("P0", CultureInfo.InvariantCulture),
                F(d.FinalRate, "0.##"), d.RealLimit is { } l ? F(l, "0.##") : "-",
                d.RealLimit is { } r && limits > 0 ? (r / limits).ToString("P0", CultureInfo.InvariantCulture) : "-",
                Markup.Escape(d.RateFoundBy ?? "-"), N(d.CoolDowns));
        }
        return table;
    }

    public static Table ToTable(RunReport report)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .Title(string.Create(CultureInfo.InvariantCulture, $"{report.Answered}/{report.Requests} answered in {report.DurationSeconds:0.0} s ({report.Mode})"));
        table.AddColumn("");
        foreach (var m in report.Models)
        {
            table.AddColumn(new TableColumn(Markup.Escape(m.Model)).RightAligned());
        }
        void Row(string label, Func<ModelReport, string> value) =>
            table.AddRow(new[] { label }.Concat(report.Models.Select(m => Markup.Escape(value(m)))).ToArray());

        Row("requests", m => N(m.Requests));
        Row("successes", m => N(m.Successes));
        Row("failures", m => m.Failures.Count == 0 ? "0" : string.Join(", ", m.Failures.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => $"{f.Key} {f.Value}")));
        if (report.Models.Any(m => m.Unanswered > 0))
        {
            Row("unanswered", m => N(m.Unanswered));
        }
        Row("attempts", m => N(m.Attempts));
        Row("429s", m => N(m.RateLimited));
        Row("retries", m => N(m.Retries));
        Row("goodput (ok/s)", m => F(m.Goodput, "0.00"));
        if (report.Models.Any(m => m.RealLimit is not null))
        {
            Row("real limit (req/s)", m => m.RealLimit is { } l ? F(l, "0.##") : "-");
            Row("goodput / limit", m => m.GoodputToLimit is { } r ? r.ToString("P0", CultureInfo.InvariantCulture) : "-");
        }
        Row("latency p50 (ms)", m => Ms(m.Latency.P50));
        Row("latency p95 (ms)", m => Ms(m.Latency.P95));
        Row("latency p99 (ms)", m => Ms(m.Latency.P99));
        Row("e2e p50 (ms)", m => Ms(m.EndToEnd.P50));
        Row("e2e p99 (ms)", m => Ms(m.EndToEnd.P99));
        if (report.Models.Any(m => m.FirstChunk is not null))
        {
            Row("first chunk p50 (ms)", m => Ms(m.FirstChunk?.P50));
            Row("first chunk p95 (ms)", m => Ms(m.FirstChunk?.P95));
            Row("chunks / answer", m => m.ChunksPerAnswer is { } c ? F(c, "0.0") : "-");
        }
        foreach (var lane in report.Models.SelectMany(m => m.EndToEndByLane?.Keys ?? []).Distinct().Order(StringComparer.Ordinal))
        {
            Row($"{lane} e2e p50 (ms)", m => Ms(m.EndToEndByLane?.GetValueOrDefault(lane)?.P50));
            Row($"{lane} e2e p95 (ms)", m => Ms(m.EndToEndByLane?.GetValueOrDefault(lane)?.P95));
        }
        Row("final burst", m => N(m.FinalBurst));
        Row("final rate (req/s)", m => F(m.FinalRate, "0.##"));
        Row("rate found by", m => m.RateFoundBy ?? "-");
        Row("rate changes", m => m.RateChanges is { } c ? N(c) : "-");
        return table;
    }

    /// <summary>One streamed answer with its chunk boundaries marked, e.g. <c>Hello| wor|ld</c>.</summary>
    public static string DescribeSampleStream(SampleStream sample) =>
        $"streamed answer {sample.RequestId} ({sample.Model}), {sample.Chunks.Count} chunks split by '|': {string.Join("|", sample.Chunks)}";

    private static string N(long n) => n.ToString(CultureInfo.InvariantCulture);

    private static string F(double d, string format) => d.ToString(format, CultureInfo.InvariantCulture);

    private static string Ms(double? ms) => ms is { } v ? v.ToString("0", CultureInfo.InvariantCulture) : "-";
}
