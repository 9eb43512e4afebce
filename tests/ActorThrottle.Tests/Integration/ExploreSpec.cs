using ActorThrottle.Messages;
using ActorThrottle.Tests.Backend;
using Xunit;
using Xunit.Abstractions;
using Sim = ActorThrottle.Simulator;

namespace ActorThrottle.Tests.Integration;

[Collection(LoopbackCollection.Name)]
public sealed class ExploreSpec(ITestOutputHelper output)
{
    [Theory]
    [InlineData(1000, 100, 1000, 50, 2500)]
    [InlineData(1000, 50, 2000, 100, 3000)]
    public async Task Explore(double simRate, double simBurst, double rate, int burst, int count)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        await using var run = await SimulatorRun.StartAsync(
            new Dictionary<string, Sim.ModelSettings> { ["m"] = new() { RequestsPerSecond = simRate, RequestsPerSecondBurst = simBurst, Latency = TimeSpan.FromMilliseconds(2), LatencyJitter = TimeSpan.FromMilliseconds(3), Seed = 11 } },
            $$"""
            actor-throttle.request-timeout = 2s
            actor-throttle.defaults { requests-per-second = {{rate}}, max-burst = {{burst}}, max-in-flight = 32, queue-size = 10000, min-rate = 50,
              retry { max-attempts = 10 }
              adapt { cool-down = 200ms, increase-after = 5 } }
            """, output);
        output.WriteLine($"started {sw.ElapsedMilliseconds} ms");
        var ids = run.Send("m", count, "r");
        var poll = Task.Run(async () => { while (run.Replies.Count < count) { var st = await run.Engine.GetStatusAsync("m"); output.WriteLine($"{sw.ElapsedMilliseconds} ms: burst {st.Burst} rate {st.Rate} pending {st.Pending}"); await Task.Delay(250); } });
        await run.AwaitAnsweredAsync(ids);
        await poll;
        output.WriteLine($"done {sw.ElapsedMilliseconds} ms");
        var replies = run.AssertAnsweredExactlyOnce(ids);
        run.Dump("m");
        output.WriteLine($"successes {replies.Values.Count(r => r is ChatSuccess)} engine {run.EngineSuccesses("m")} sim {run.Sim.GetStats().For("m").Totals}");
        foreach (var g in replies.Values.OfType<ChatFailure>().GroupBy(f => f.Reason)) output.WriteLine($"fail {g.Key}: {g.Count()} {g.First().Message}");
        output.WriteLine($"max attempts {replies.Values.Max(r => r.Attempts)}; max in 1s window {run.Sim.MaxAcceptedInWindow("m", TimeSpan.FromSeconds(1))}, 100ms {run.Sim.MaxAcceptedInWindow("m", TimeSpan.FromMilliseconds(100))}");
    }
}
