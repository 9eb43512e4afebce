namespace ActorThrottle.Benchmarks;

/// <summary>ScottPlot PNGs: per-second successes and 429s per baseline, and ActorThrottle's burst and rate.</summary>
public static class Plots
{
    /// <summary>One PNG per matrix shape: accepted (solid) and rejected (dotted) per second of ActorThrottle under each configuration.</summary>
    public static void Shape(ProviderShape shape, List<(string Config, Scenario Scenario, RunResult Run)> runs, string dir)
    {
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var i = 0;
        foreach (var (config, scenario, run) in runs)
        {
            var points = run.Headline.PerSecond.Where(p => p.T >= -0.5).OrderBy(p => p.T).ToList();
            if (points.Count == 0)
            {
                continue;
            }
            var color = palette.GetColor(i++);
            var xs = points.Select(p => p.T + 0.5).ToArray();
            var ok = plot.Add.ScatterLine(xs, points.Select(p => (double)p.Accepted).ToArray());
            ok.LegendText = $"{config}: accepted/s";
            ok.LineWidth = 2;
            ok.MarkerSize = 0;
            ok.LineColor = color;
            var rejected = plot.Add.ScatterLine(xs, points.Select(p => (double)p.RateLimited).ToArray());
            rejected.LegendText = $"{config}: 429s/s";
            rejected.LinePattern = ScottPlot.LinePattern.Dotted;
            rejected.MarkerSize = 0;
            rejected.LineColor = color;
        }
        if (runs.Count > 0)
        {
            var (_, scenario, _) = runs[0];
            LimitLine(plot, scenario, scenario.Models[0]);
        }
        plot.Title($"{shape.Key}: {shape.Title}");
        plot.XLabel("seconds since the backlog was submitted");
        plot.YLabel("per second, as the provider saw it");
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        plot.SavePng(Path.Combine(dir, $"matrix-{shape.Key}.png"), 1100, 500);
    }

    /// <summary>The real request limit over the run, dashed black (none for a token-bound scenario unless asked).</summary>
    private static void LimitLine(ScottPlot.Plot plot, Scenario s, ModelSpec m, bool tokenBoundToo = false)
    {
        var xs = Enumerable.Range(0, (int)(s.CapSeconds * 10)).Select(x => x / 10.0).ToArray();
        var limit = plot.Add.ScatterLine(xs, xs.Select(x => s.TokenBound && !tokenBoundToo ? double.NaN : s.LimitAt(m, x)).ToArray());
        limit.LegendText = "real limit";
        limit.LineColor = ScottPlot.Colors.Black;
        limit.LinePattern = ScottPlot.LinePattern.Dashed;
        limit.MarkerSize = 0;
    }

    public static void Scenario(Scenario s, List<RunResult> runs, string dir)
    {
        var model = s.Models.First(m => m.Headline).Id;
        Series(s, runs, dir, model, "goodput", "successes per second (provider accepted)", p => p.Accepted, withLimit: true);
        Series(s, runs, dir, model, "429", "429s per second", p => p.RateLimited, withLimit: false);
        Engine(s, runs, dir, model);
    }

    private static void Series(Scenario s, List<RunResult> runs, string dir, string model, string name, string yLabel, Func<SecondPoint, long> y, bool withLimit)
    {
        var plot = new ScottPlot.Plot();
        foreach (var r in runs)
        {
            var points = r.Models.First(m => m.Model == model).PerSecond.Where(p => p.T >= -0.5).OrderBy(p => p.T).ToList();
            if (points.Count == 0)
            {
                continue;
            }
            var line = plot.Add.ScatterLine(points.Select(p => p.T + 0.5).ToArray(), points.Select(p => (double)y(p)).ToArray());
            line.LegendText = r.Baseline;
            line.LineWidth = 2;
            line.MarkerSize = 0;
        }
        if (withLimit)
        {
            LimitLine(plot, s, s.Models.First(mm => mm.Id == model));
        }
        plot.Title($"Scenario {s.Key}: {s.Title} — {yLabel}");
        plot.XLabel("seconds since the backlog was submitted");
        plot.YLabel(yLabel);
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        plot.SavePng(Path.Combine(dir, $"s{s.Key}-{name}.png"), 1000, 500);
    }

    private static void Engine(Scenario s, List<RunResult> runs, string dir, string model)
    {
        var plot = new ScottPlot.Plot();
        var any = false;
        foreach (var r in runs.Where(r => r.EngineSeries.Count > 0))
        {
            var samples = r.EngineSeries.Where(e => e.Model == model).OrderBy(e => e.T).ToList();
            var rate = plot.Add.ScatterLine(samples.Select(e => e.T).ToArray(), samples.Select(e => e.Rate).ToArray());
            rate.LegendText = $"{r.Baseline} rate (req/s)";
            rate.MarkerSize = 0;
            rate.LineWidth = 2;
            var burst = plot.Add.ScatterLine(samples.Select(e => e.T).ToArray(), samples.Select(e => (double)e.Burst).ToArray());
            burst.LegendText = $"{r.Baseline} burst window";
            burst.MarkerSize = 0;
            burst.LinePattern = ScottPlot.LinePattern.Dotted;
            burst.LineWidth = 2;
            any = true;
        }
        if (!any)
        {
            return;
        }
        LimitLine(plot, s, s.Models.First(mm => mm.Id == model), tokenBoundToo: true);
        plot.Title($"Scenario {s.Key}: ActorThrottle rate and burst window over time");
        plot.XLabel("seconds since the backlog was submitted");
        plot.YLabel("req/s (rate), requests (burst)");
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        plot.SavePng(Path.Combine(dir, $"s{s.Key}-engine.png"), 1000, 500);
    }
}
