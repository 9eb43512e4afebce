using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using ActorThrottle.Configuration;
using ActorThrottle.Messages;
using ActorThrottle.Simulator;
using SimModel = ActorThrottle.Simulator.ModelSettings;

namespace ActorThrottle.Benchmarks;

/// <summary>
/// One model over several deployments (issue 16): the balancer (<c>models.m.deployments</c>) against what users do by
/// hand today — one model id per deployment, requests split over them in proportion to their limits (LiteLLM's
/// rpm-weighted shuffle) and each id listing the others as <c>fallbacks</c>. Each deployment is a model of one
/// simulator (<c>m@d0</c>, <c>m@d1</c>, …) with its own limit, configured at that limit in both approaches (in the
/// <c>20+5</c> case the second is <c>auto</c>). A backlog is sent at once and every reply is counted.
/// </summary>
public static class DeploymentsBench
{
    /// <param name="Learned">The deployments after the first are <c>auto</c> (else configured at their limits, so the case measures the routing alone).</param>
    private sealed record Case(string Key, string Title, double[] Limits, double Seconds, double? FailAt = null, int? Charged = null, bool Learned = false);

    private sealed record Row(string Case, string Approach, int Requests, int Ok, int Failed, int Unanswered, double Wall, double GoodputToLimit,
        long RateLimited, long ServerErrors, string Shares, string AfterFailure);

    public static async Task<string> RunAsync(bool quick)
    {
        var seconds = quick ? 10.0 : 30.0;
        Case[] cases =
        [
            new("20+5", "two deployments of 20 and 5 req/s (one known, one auto)", [20, 5], seconds, Learned: true),
            new("failing", "two of 20 req/s; the first answers 500 to everything from a third of the run on", [20, 20], seconds, FailAt: seconds / 3),
            new("charged", "three of 10 req/s; the third counts rejected requests against its limit", [10, 10, 10], seconds, Charged: 2),
        ];
        var rows = new List<Row>();
        foreach (var c in cases)
        {
            foreach (var balanced in new[] { true, false })
            {
                Console.WriteLine($"== deployments {c.Key}, {(balanced ? "deployments" : "fallbacks by hand")} (load {Program.Load()})");
                var row = await RunOneAsync(c, balanced);
                Console.WriteLine($"   ok {row.Ok}/{row.Requests}, failed {row.Failed}, unanswered {row.Unanswered}, {row.Wall:0.0} s, goodput/limit {row.GoodputToLimit:0.000}, {row.Shares}");
                rows.Add(row);
            }
        }
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"## One model, several deployments ({(quick ? "quick, " : "")}{seconds:0} s of work at the summed limit; load {Program.Load()})");
        md.AppendLine();
        foreach (var c in cases)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"- `{c.Key}`: {c.Title}");
        }
        md.AppendLine();
        md.AppendLine("| case | approach | ok / sent | failed | unanswered | wall (s) | goodput ÷ summed limit | 429s | 5xx | successes per deployment | ok/s in the 2 s after the failure ÷ survivors' limit |");
        md.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var r in rows)
        {
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Case} | {r.Approach} | {r.Ok} / {r.Requests} | {r.Failed} | {r.Unanswered} | {r.Wall:0.0} | {r.GoodputToLimit:0.000} | {r.RateLimited} | {r.ServerErrors} | {r.Shares} | {r.AfterFailure} |");
        }
        md.AppendLine();
        md.AppendLine("Goodput is successes ÷ the time to the last success; with a backlog it includes the first seconds, while `auto` deployments are learning.");
        md.AppendLine();
        return md.ToString();
    }

    private static async Task<Row> RunOneAsync(Case c, bool balanced)
    {
        var ids = c.Limits.Select((_, i) => $"m@d{i}").ToArray();
        var simModels = c.Limits.Select((limit, i) => (ids[i], new SimModel
        {
            RequestsPerSecond = limit,
            RequestsPerSecondBurst = Math.Max(1, limit / 5),
            Latency = TimeSpan.FromMilliseconds(50),
            LatencyJitter = TimeSpan.FromMilliseconds(30),
            ChargeRejected = c.Charged == i,
            Seed = 16 + i,
        })).ToDictionary(m => m.Item1, m => m.Item2);
        await using var sim = await SimulatedProvider.StartNewAsync(new SimulatorOptions { Models = simModels, UnknownModels = ActorThrottle.Simulator.UnknownModelPolicy.Reject });

        string Rate(int i) => i > 0 && c.Learned ? "auto" : c.Limits[i].ToString(CultureInfo.InvariantCulture);
        var models = balanced
            ? "m { deployments = [\n" + string.Join("\n", ids.Select((id, i) => $"  {{ name = d{i}, provider-model = \"{id}\", requests-per-second = {Rate(i)} }}")) + "\n] }"
            : string.Join("\n", ids.Select((id, i) => $"\"{id}\" {{ requests-per-second = {Rate(i)}, fallbacks = [{string.Join(", ", ids.Where(o => o != id).Select(o => $"\"{o}\""))}] }}"));
        var requests = (int)Math.Round(c.Limits.Sum() * c.Seconds);
        var settings = ActorThrottleSettings.Parse($$"""
            actor-throttle {
              endpoint = "{{sim.ApiBaseUrl}}"
              api-key = "bench"
              request-timeout = 10s
              defaults.queue-size = {{requests + 10}}
              models {
            {{models}}
              }
            }
            """, _ => null);
        using var system = EngineHost.NewSystem("deployments-bench");
        var engine = ActorThrottleEngine.Start(system, settings, new ThrottleEnvironment { Logger = Program.SilentLogger, RandomFor = m => new Random(m.Length * 7919) });

        // By hand: each request goes to the id furthest below its share of the summed limit (a weighted round robin).
        var sentTo = new int[ids.Length];
        string Target()
        {
            var i = Enumerable.Range(0, ids.Length).MinBy(k => (sentTo[k] + 1) / c.Limits[k]);
            sentTo[i]++;
            return ids[i];
        }

        sim.ResetStats();
        var clock = Stopwatch.StartNew();
        using var fail = c.FailAt is { } at
            ? new Timer(_ => sim.UpdateModelSettings(ids[0], s => s with { Error500Rate = 1.0 }), null, TimeSpan.FromSeconds(at), Timeout.InfiniteTimeSpan)
            : null;
        var cap = TimeSpan.FromSeconds(c.Seconds * 4 + 30);
        var lastOk = new ConcurrentBag<double>();
        var replies = await Task.WhenAll(Enumerable.Range(0, requests).Select(async n =>
        {
            var request = new ChatRequest(balanced ? "m" : Target(), [ChatMessage.User($"hello {n}")]) { RequestId = $"r{n}", MaxTokens = 16 };
            try
            {
                var reply = await engine.CompleteAsync(request).WaitAsync(cap);
                if (reply is ChatSuccess)
                {
                    lastOk.Add(clock.Elapsed.TotalSeconds);
                }
                return reply;
            }
            catch (TimeoutException)
            {
                return null;
            }
        }));
        var wall = clock.Elapsed.TotalSeconds;
        await system.Terminate();

        var stats = sim.GetStats();
        var ok = replies.Count(r => r is ChatSuccess);
        var okTime = lastOk.IsEmpty ? wall : lastOk.Max();
        var perDeployment = ids.Select(id => stats.For(id).Totals.Accepted).ToArray();
        var afterFailure = "-";
        if (c.FailAt is { } failAt)
        {
            // Successes per whole second, summed over deployments, in the two seconds after the failure began.
            var from = (long)Math.Ceiling(failAt);
            var carried = ids.Sum(id => stats.For(id).PerSecond.Where(s => s.Second >= from && s.Second < from + 2).Sum(s => s.Counters.Accepted));
            afterFailure = (carried / (2 * c.Limits.Skip(1).Sum())).ToString("0.00", CultureInfo.InvariantCulture);
        }
        return new Row(c.Key, balanced ? "deployments" : "fallbacks by hand", requests, ok, replies.Count(r => r is ChatFailure), replies.Count(r => r is null),
            wall, ok / okTime / c.Limits.Sum(),
            ids.Sum(id => stats.For(id).Totals.RateLimited), ids.Sum(id => stats.For(id).Totals.ServerErrors),
            string.Join(" / ", perDeployment.Select(a => a.ToString(CultureInfo.InvariantCulture))), afterFailure);
    }
}
