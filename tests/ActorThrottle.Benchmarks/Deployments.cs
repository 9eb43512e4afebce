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

    private sealed record Row(string Case, string Approach, int Requests, int Ok, int Failed, int Unanswered, double Wall, double GoodputToLimit, string AfterLearning,
        long RateLimited, long ServerErrors, string Shares, string AfterFailure);

    /// <summary>A case with an <c>auto</c> deployment gets at least this much work at the summed limit, so it can be judged after it learned.</summary>
    public const double LearnedSeconds = Matrix.NotConfiguredSeconds;

    /// <summary>"After 10 s": the successes of the full seconds from here to 2 s before the last success ÷ the summed limit (as the matrix's not-configured cells).</summary>
    public const double JudgedFrom = Matrix.JudgedFrom;

    /// <param name="only">Case keys to run (<c>--shapes 20+5,failing,charged</c>); empty: all.</param>
    public static async Task<string> RunAsync(bool quick, IReadOnlySet<string> only)
    {
        var seconds = quick ? 10.0 : 30.0;
        Case[] cases =
        [
            new("20+5", "two deployments of 20 and 5 req/s (one known, one auto)", [20, 5], Math.Max(seconds, LearnedSeconds), Learned: true),
            new("failing", "two of 20 req/s; the first answers 500 to everything from a third of the run on", [20, 20], seconds, FailAt: seconds / 3),
            new("charged", "three of 10 req/s; the third counts rejected requests against its limit", [10, 10, 10], seconds, Charged: 2),
        ];
        var rows = new List<Row>();
        cases = [.. cases.Where(c => only.Count == 0 || only.Contains(c.Key))];
        foreach (var c in cases)
        {
            foreach (var balanced in new[] { true, false })
            {
                Console.WriteLine($"== deployments {c.Key}, {(balanced ? "deployments" : "fallbacks by hand")} (load {Program.Load()})");
                var row = await RunOneAsync(c, balanced);
                Console.WriteLine($"   ok {row.Ok}/{row.Requests}, failed {row.Failed}, unanswered {row.Unanswered}, {row.Wall:0.0} s, goodput/limit {row.GoodputToLimit:0.000} (after {JudgedFrom:0} s {row.AfterLearning}), {row.Shares}");
                rows.Add(row);
            }
        }
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"## One model, several deployments ({(quick ? "quick, " : "")}{seconds:0} s of work at the summed limit, {LearnedSeconds:0} s where a deployment is auto; load {Program.Load()})");
        md.AppendLine();
        foreach (var c in cases)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"- `{c.Key}`: {c.Title}");
        }
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"| case | approach | ok / sent | failed | unanswered | wall (s) | goodput ÷ summed limit | after {JudgedFrom:0} s | 429s | 5xx | successes per deployment | ok/s in the 2 s after the failure ÷ survivors' limit |");
        md.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var r in rows)
        {
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Case} | {r.Approach} | {r.Ok} / {r.Requests} | {r.Failed} | {r.Unanswered} | {r.Wall:0.0} | {r.GoodputToLimit:0.000} | {r.AfterLearning} | {r.RateLimited} | {r.ServerErrors} | {r.Shares} | {r.AfterFailure} |");
        }
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Goodput is successes ÷ the time to the last success ÷ the summed limit; with a backlog it includes the first seconds, while `auto` deployments are learning. \"After {JudgedFrom:0} s\" is the providers' accepted requests over the full seconds from t = {JudgedFrom:0} s to 2 s before the last success ÷ the summed limit (\"–\" when the run is shorter), as in the matrix's not-configured cells: the learning time is shown, not hidden.");
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
        // The simulator counts whole seconds from its creation, a little before the run's clock starts.
        var sinceSimulatorStarted = Stopwatch.StartNew();

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
        var epochOffset = sinceSimulatorStarted.Elapsed.TotalSeconds;
        using var fail = c.FailAt is { } at
            ? new Timer(_ => sim.UpdateModelSettings(ids[0], s => s with { Error500Rate = 1.0 }), null, TimeSpan.FromSeconds(at), Timeout.InfiniteTimeSpan)
            : null;
        var cap = TimeSpan.FromSeconds(c.Seconds * 4 + 30);
        var lastOk = new ConcurrentBag<double>();
        // The deployments' rates and holdings over time (balanced only), to see how the learned ones get there.
        var samples = new ConcurrentQueue<string>();
        using var stopSampling = new CancellationTokenSource();
        var sampling = balanced ? Task.Run(async () =>
        {
            while (!stopSampling.IsCancellationRequested)
            {
                try
                {
                    var st = await engine.GetStatusAsync("m");
                    samples.Enqueue(string.Create(CultureInfo.InvariantCulture, $"{clock.Elapsed.TotalSeconds,5:0.0}s q{st.Pending,4} ")
                        + string.Join(" | ", (st.Deployments ?? []).Select(d => string.Create(CultureInfo.InvariantCulture,
                            $"{d.Name} rate {d.Rate,5:0.0} held {d.Held,3} ok {d.Successes,4}{(d.UnavailableUntil is null ? "" : " out")}"))));
                    await Task.Delay(500, stopSampling.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }) : Task.CompletedTask;
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
        await stopSampling.CancelAsync();
        await sampling;
        foreach (var line in samples)
        {
            Console.WriteLine("   " + line);
        }
        await system.Terminate();

        var stats = sim.GetStats();
        foreach (var id in ids)
        {
            Console.WriteLine($"   {id} accepted/429 per second: " + string.Join(" ", stats.For(id).PerSecond.Select(p => $"{p.Counters.Accepted}/{p.Counters.RateLimited}")));
        }
        var ok = replies.Count(r => r is ChatSuccess);
        var okTime = lastOk.IsEmpty ? wall : lastOk.Max();
        var perDeployment = ids.Select(id => stats.For(id).Totals.Accepted).ToArray();
        var afterFailure = "-";
        if (c.FailAt is { } failAt)
        {
            // Successes per whole second, summed over deployments, in the two seconds after the failure began.
            var from = (long)Math.Ceiling(failAt + epochOffset);
            var carried = ids.Sum(id => stats.For(id).PerSecond.Where(s => s.Second >= from && s.Second < from + 2).Sum(s => s.Counters.Accepted));
            afterFailure = (carried / (2 * c.Limits.Skip(1).Sum())).ToString("0.00", CultureInfo.InvariantCulture);
        }
        // Accepted per full simulator second from JudgedFrom to 2 s before the last success (run clock), summed over deployments.
        var firstJudged = (int)Math.Ceiling(JudgedFrom + epochOffset);
        var judged = Enumerable.Range(firstJudged, Math.Max(0, (int)Math.Floor(okTime - 2 + epochOffset) - firstJudged)).ToList();
        var afterLearning = judged.Count == 0 ? "–"
            : (ids.Sum(id => stats.For(id).PerSecond.Where(p => judged.Contains((int)p.Second)).Sum(p => p.Counters.Accepted)) / (judged.Count * c.Limits.Sum()))
                .ToString("0.000", CultureInfo.InvariantCulture);
        return new Row(c.Key, balanced ? "deployments" : "fallbacks by hand", requests, ok, replies.Count(r => r is ChatFailure), replies.Count(r => r is null),
            wall, ok / okTime / c.Limits.Sum(), afterLearning,
            ids.Sum(id => stats.For(id).Totals.RateLimited), ids.Sum(id => stats.For(id).Totals.ServerErrors),
            string.Join(" / ", perDeployment.Select(a => a.ToString(CultureInfo.InvariantCulture))), afterFailure);
    }
}
