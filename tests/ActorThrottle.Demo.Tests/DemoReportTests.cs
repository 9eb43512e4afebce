using System.Text.Json;
using Spectre.Console;
using Xunit;

namespace ActorThrottle.Demo.Tests;

public sealed class DemoReportTests
{
    [Fact]
    public void Nearest_rank_percentiles_of_one_to_a_hundred()
    {
        var samples = Enumerable.Range(1, 100).Select(i => (double)i).ToList();
        Assert.Equal(50, DemoReport.Percentile(samples, 50));
        Assert.Equal(95, DemoReport.Percentile(samples, 95));
        Assert.Equal(99, DemoReport.Percentile(samples, 99));
        Assert.Equal(100, DemoReport.Percentile(samples, 100));
        Assert.Equal(1, DemoReport.Percentile(samples, 0.5));
    }

    [Fact]
    public void Nearest_rank_on_small_samples_takes_the_sample_at_or_above_the_rank()
    {
        double[] samples = [10, 20, 30, 40];
        Assert.Equal(20, DemoReport.Percentile(samples, 50));   // ceil(2.0) = 2
        Assert.Equal(30, DemoReport.Percentile(samples, 51));   // ceil(2.04) = 3
        Assert.Equal(40, DemoReport.Percentile(samples, 95));
        Assert.Equal(40, DemoReport.Percentile(samples, 99));
        Assert.Equal(7, DemoReport.Percentile([7], 99));
    }

    [Fact]
    public void No_samples_have_no_percentile()
    {
        Assert.Null(DemoReport.Percentile([], 50));
        Assert.Equal(new LatencySummary(null, null, null, 0), DemoReport.Summarize([]));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(100.1)]
    [InlineData(double.NaN)]
    public void Percentiles_outside_zero_to_a_hundred_are_refused(double p) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => DemoReport.Percentile([1.0], p));

    [Fact]
    public void Summarize_sorts_before_ranking()
    {
        var summary = DemoReport.Summarize([5, 1, 4, 2, 3]);
        Assert.Equal(3, summary.P50);
        Assert.Equal(5, summary.P95);
        Assert.Equal(5, summary.P99);
        Assert.Equal(5, summary.Samples);
    }

    [Fact]
    public void Goodput_is_successes_per_active_second_and_its_ratio_needs_a_limit()
    {
        Assert.Equal(10, DemoReport.Goodput(200, 20));
        Assert.Equal(0, DemoReport.Goodput(5, 0));
        Assert.Equal(0.5, DemoReport.Ratio(10, 20));
        Assert.Null(DemoReport.Ratio(10, null));
        Assert.Null(DemoReport.Ratio(10, 0));
    }

    private static RunReport Sample(double? limit = 20) => new("simulator", 12.5, 30,
    [
        new ModelReport
        {
            Model = "gpt-4o-mini",
            Endpoint = "http://127.0.0.1:5000/v1",
            Requests = 20,
            Successes = 18,
            Failures = new Dictionary<string, int> { ["RateLimitedExhausted"] = 2 },
            Unanswered = 0,
            Attempts = 31,
            RateLimited = 11,
            Retries = 11,
            ActiveSeconds = 2,
            Goodput = 9,
            RealLimit = limit,
            GoodputToLimit = DemoReport.Ratio(9, limit),
            Latency = new LatencySummary(100, 200, 300, 18),
            EndToEnd = new LatencySummary(1000, 2000, 3000, 18),
            FinalBurst = 2,
            FinalRate = 17.5,
            RateFoundBy = "seeded from headers",
            RateChanges = 7,
        },
        new ModelReport
        {
            Model = "gpt-4.1-nano",
            Endpoint = "http://127.0.0.1:5000/v1",
            Requests = 10,
            Successes = 10,
            Failures = new Dictionary<string, int>(),
            Unanswered = 0,
            Attempts = 10,
            RateLimited = 0,
            Retries = 0,
            ActiveSeconds = 1,
            Goodput = 10,
            RealLimit = limit,
            GoodputToLimit = DemoReport.Ratio(10, limit),
            Latency = new LatencySummary(50, 60, 70, 10),
            EndToEnd = new LatencySummary(50, 60, 70, 10),
            FinalBurst = 10,
            FinalRate = 25,
        },
    ]);

    [Fact]
    public void Json_has_the_documented_shape()
    {
        using var doc = JsonDocument.Parse(DemoReport.ToJson(Sample()));
        var root = doc.RootElement;
        Assert.Equal("simulator", root.GetProperty("mode").GetString());
        Assert.Equal(12.5, root.GetProperty("durationSeconds").GetDouble());
        Assert.Equal(30, root.GetProperty("requests").GetInt32());
        Assert.Equal(30, root.GetProperty("answered").GetInt32());
        var models = root.GetProperty("models");
        Assert.Equal(2, models.GetArrayLength());
        var first = models[0];
        foreach (var name in new[] { "model", "endpoint", "requests", "successes", "failures", "unanswered", "attempts", "rateLimited", "retries",
                     "activeSeconds", "goodput", "realLimit", "goodputToLimit", "latency", "endToEnd", "finalBurst", "finalRate" })
        {
            Assert.True(first.TryGetProperty(name, out _), $"missing {name}");
        }
        Assert.Equal("gpt-4o-mini", first.GetProperty("model").GetString());
        Assert.Equal(2, first.GetProperty("failures").GetProperty("RateLimitedExhausted").GetInt32());
        Assert.Equal(0.45, first.GetProperty("goodputToLimit").GetDouble(), 6);
        var latency = first.GetProperty("latency");
        Assert.Equal(100, latency.GetProperty("p50").GetDouble());
        Assert.Equal(200, latency.GetProperty("p95").GetDouble());
        Assert.Equal(300, latency.GetProperty("p99").GetDouble());
        Assert.Equal(18, latency.GetProperty("samples").GetInt32());
        Assert.Equal(JsonValueKind.Object, models[1].GetProperty("failures").ValueKind);
    }

    [Fact]
    public void Json_against_a_real_endpoint_has_null_limit_and_ratio()
    {
        using var doc = JsonDocument.Parse(DemoReport.ToJson(Sample(limit: null)));
        var first = doc.RootElement.GetProperty("models")[0];
        Assert.Equal(JsonValueKind.Null, first.GetProperty("realLimit").ValueKind);
        Assert.Equal(JsonValueKind.Null, first.GetProperty("goodputToLimit").ValueKind);
    }

    private static string Render(RunReport report)
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = 160;
        console.Write(DemoReport.ToTable(report));
        return writer.ToString();
    }

    [Fact]
    public void Table_has_a_column_per_model_and_the_figures()
    {
        var text = Render(Sample());
        Assert.Contains("gpt-4o-mini", text);
        Assert.Contains("gpt-4.1-nano", text);
        Assert.Contains("RateLimitedExhausted 2", text);
        Assert.Contains("goodput / limit", text);
        Assert.Contains("45 %", text);
        Assert.Contains("17.5", text);
        Assert.Contains("30/30 answered in 12.5 s (simulator)", text);
        Assert.DoesNotContain("unanswered", text);
    }

    [Fact]
    public void Table_shows_how_the_rate_was_found()
    {
        var text = Render(Sample());
        var row = text.Split('\n').Single(l => l.Contains("rate found by", StringComparison.Ordinal));
        Assert.Contains("seeded from headers", row);
        Assert.Contains("-", row.Split("seeded from headers")[1]);
        Assert.Contains("rate changes", text);
    }

    [Fact]
    public void Stream_and_lane_rows_appear_only_when_measured()
    {
        var plain = Render(Sample());
        Assert.DoesNotContain("first chunk", plain);
        Assert.DoesNotContain("interactive e2e", plain);

        var sample = Sample();
        var measured = sample with
        {
            Models = [sample.Models[0] with
            {
                FirstChunk = new LatencySummary(40, 90, 95, 18),
                ChunksPerAnswer = 6.5,
                EndToEndByLane = new Dictionary<string, LatencySummary>
                {
                    ["batch"] = new(4000, 5000, 5100, 13),
                    ["interactive"] = new(300, 700, 800, 5),
                },
            }, sample.Models[1]],
        };
        var text = Render(measured);
        Assert.Contains("first chunk p50 (ms)", text);
        Assert.Contains("6.5", text);
        Assert.Contains("interactive e2e p95 (ms)", text);
        Assert.Contains("batch e2e p50 (ms)", text);
        using var json = System.Text.Json.JsonDocument.Parse(DemoReport.ToJson(measured));
        var first = json.RootElement.GetProperty("models")[0];
        Assert.Equal(40, first.GetProperty("firstChunk").GetProperty("p50").GetDouble());
        Assert.Equal(300, first.GetProperty("endToEndByLane").GetProperty("interactive").GetProperty("p50").GetDouble());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, json.RootElement.GetProperty("models")[1].GetProperty("firstChunk").ValueKind);
    }

    [Fact]
    public void A_sample_stream_shows_its_chunk_boundaries() =>
        Assert.Equal("streamed answer r1 (m), 3 chunks split by '|': Hel|lo| world",
            DemoReport.DescribeSampleStream(new SampleStream("r1", "m", ["Hel", "lo", " world"], "Hello world")));

    [Fact]
    public void Table_against_a_real_endpoint_omits_the_limit_rows() =>
        Assert.DoesNotContain("real limit", Render(Sample(limit: null)));
}
