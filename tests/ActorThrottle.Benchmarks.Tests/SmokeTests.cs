using ActorThrottle.Benchmarks;
using Xunit;

namespace ActorThrottle.Benchmarks.Tests;

/// <summary>The one part of the benchmark harness that CI runs: a tiny scenario, each baseline, to keep the harness working.</summary>
public sealed class SmokeTests
{
    [Fact]
    public async Task A_tiny_known_limit_scenario_runs_every_baseline_and_reports()
    {
        // 1,000/s and latency 0 (the design's rule for loopback tests on a busy machine), 150 requests.
        var scenario = new Scenario("smoke", "tiny known limit", [new ModelSpec("m", 1000, 1000, 150)])
        {
            Latency = TimeSpan.Zero,
            LatencyJitter = TimeSpan.Zero,
            CapSeconds = 20,
        };
        var runs = new List<RunResult>();
        foreach (var baseline in Baseline.All())
        {
            var result = await Program.RunOneAsync(scenario, baseline);
            runs.Add(result);
            var h = result.Headline;
            Assert.Equal(150, h.Requests);
            Assert.Equal(0, h.Unfinished);
            Assert.True(h.Successes > 0, $"{baseline.Name}: no successes");
            if (baseline is ActorThrottleBaseline)
            {
                Assert.Equal(150, h.Successes);
            }
        }
        var table = Report.ScenarioTable(scenario, runs, "-", "-");
        Assert.Contains("at-default", table);
        Assert.Contains("seed-5", table);
    }

    [Fact]
    public async Task One_request_goes_through_every_provider_shape_of_the_matrix()
    {
        var shapes = Matrix.Shapes();
        Assert.True(shapes.Count >= 10, $"the matrix must cover at least 10 provider shapes, has {shapes.Count}");
        Assert.Equal(shapes.Count, shapes.Select(s => s.Key).Distinct().Count());
        foreach (var shape in shapes)
        {
            var cell = Matrix.Cell(shape, MatrixConfig.All[0], latency: shape.NeedsLatency, quick: true);
            var one = cell with { Models = [cell.Models[0] with { Requests = 1 }], CapSeconds = 20 };
            var result = await Program.RunOneAsync(one, new ActorThrottleBaseline(tuned: false));
            Assert.True(result.Headline.Successes == 1, $"{shape.Key}: {result.OneLine()}");
        }
    }
}
