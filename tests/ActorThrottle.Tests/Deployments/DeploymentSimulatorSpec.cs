using System.Globalization;
using ActorThrottle.Tests.Backend;
using ActorThrottle.Messages;
using ActorThrottle.Tests.Support;
using Akka.Actor;
using Serilog;
using Xunit;
using Xunit.Abstractions;
using S = ActorThrottle.Simulator;

namespace ActorThrottle.Tests.Deployments;

/// <summary>
/// One model over two loopback simulators (two "deployments" with their own limits) and the real HTTP backend: load
/// shared by what each accepts, a deployment that starts failing mid-run is left and nothing is lost or answered twice.
/// </summary>
[Collection(LoopbackCollection.Name)]
public sealed class DeploymentSimulatorSpec(ITestOutputHelper output)
{
    private const string Key = "sk-deployments-test";

    private static S.ModelSettings Sim(double perSecond) => new()
    {
        RequestsPerSecond = perSecond,
        RequestsPerSecondBurst = perSecond / 4,
        Latency = TimeSpan.FromMilliseconds(2),
        LatencyJitter = TimeSpan.FromMilliseconds(3),
    };

    private static Task<S.SimulatedProvider> Start(double perSecond) =>
        S.SimulatedProvider.StartNewAsync(new S.SimulatorOptions
        {
            ApiKey = Key,
            Models = new Dictionary<string, S.ModelSettings> { ["m"] = Sim(perSecond) },
            UnknownModels = S.UnknownModelPolicy.Reject,
        });

    private static ActorThrottleEngine Engine(ActorSystem system, string deployments) =>
        ActorThrottleEngine.Start(system, TestConfig.Settings($$"""
            actor-throttle.request-timeout = 2s
            actor-throttle.defaults { queue-size = 5000, max-in-flight = 32, max-burst = 20, retry { max-attempts = 6, base-delay = 50ms, max-delay = 500ms } }
            actor-throttle.models.m { deployments = [ {{deployments}} ] }
            """), new ThrottleEnvironment
        {
            RandomFor = model => new Random(model.Length * 31),
            Logger = new LoggerConfiguration().CreateLogger(),
        });

    private static List<string> Send(ActorThrottleEngine engine, IActorRef collector, int count, string prefix)
    {
        var ids = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            var id = prefix + i.ToString(CultureInfo.InvariantCulture);
            ids.Add(id);
            engine.Router.Tell(new ChatRequest("m", [ChatMessage.User("hello " + id)]) { RequestId = id, MaxTokens = 16 }, collector);
        }
        return ids;
    }

    private async Task AwaitAll(IReadOnlyCollection<string> ids, System.Collections.Concurrent.ConcurrentDictionary<string, System.Collections.Concurrent.ConcurrentQueue<ChatReply>> replies)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (ids.Any(id => !replies.ContainsKey(id)))
        {
            Assert.True(DateTime.UtcNow < deadline, $"{ids.Count(id => !replies.ContainsKey(id))} requests unanswered");
            await Task.Delay(20);
        }
        await Task.Delay(300);
        foreach (var failure in replies.Values.Select(r => r.First()).OfType<ChatFailure>().Take(3))
        {
            output.WriteLine($"failure: {failure}");
        }
        Assert.All(ids, id => Assert.True(replies[id].Count == 1, $"{id} answered {replies[id].Count} times"));
        Assert.Equal(ids.Count, replies.Count);
    }

    [Fact]
    public async Task Load_is_shared_by_what_each_deployment_accepts_one_known_one_learned()
    {
        await using var fast = await Start(400);
        await using var slow = await Start(100);
        var system = ActorSystem.Create("deployments-share", "akka.loglevel = WARNING");
        try
        {
            var engine = Engine(system, $$"""
                { name = fast, endpoint = "{{fast.ApiBaseUrl}}", api-key = "{{Key}}", requests-per-second = 400 },
                { name = slow, endpoint = "{{slow.ApiBaseUrl}}", api-key = "{{Key}}", requests-per-second = auto }
                """);
            var (collector, replies) = ReplyCollector.Start(system);
            var started = DateTime.UtcNow;
            var ids = Send(engine, collector, 2000, "s");
            await AwaitAll(ids, replies);
            var elapsed = DateTime.UtcNow - started;

            var successes = replies.Values.Select(r => Assert.IsType<ChatSuccess>(r.Single())).ToList();
            var onSlow = successes.Count(s => s.Deployment == "slow");
            var (fastStats, slowStats) = (fast.GetStats().For("m").Totals, slow.GetStats().For("m").Totals);
            output.WriteLine($"{elapsed.TotalSeconds:0.00} s; fast accepted {fastStats.Accepted} (429 {fastStats.RateLimited}), slow accepted {slowStats.Accepted} (429 {slowStats.RateLimited})");
            foreach (var d in (await engine.GetStatusAsync("m")).Deployments!)
            {
                output.WriteLine($"{d}");
            }
            foreach (var (name, sim) in new[] { ("fast", fast), ("slow", slow) })
            {
                output.WriteLine(name + " per second: " + string.Join(" ", sim.GetStats().For("m").PerSecond.Select(sec => $"{sec.Counters.Accepted}/{sec.Counters.RateLimited}")));
            }
            Assert.Equal(2000, fastStats.Accepted + slowStats.Accepted);
            Assert.Equal(slowStats.Accepted, onSlow);
            // The slow deployment starts at auto's 5/s and learns its 100/s from the headers: it must carry a real share of
            // the 20 % its limit entitles it to, not sit idle as a fallback would.
            Assert.InRange(onSlow, 200, 600);
            var status = await engine.GetStatusAsync("m");
            Assert.Equal(["fast", "slow"], status.Deployments!.Select(d => d.Name));
            Assert.True(status.Deployments![1].Rate > 20, $"slow's learned rate {status.Deployments![1].Rate}");
        }
        finally
        {
            await system.Terminate();
        }
    }

    [Fact]
    public async Task A_deployment_that_starts_failing_mid_run_is_left_and_every_request_succeeds_once()
    {
        await using var a = await Start(300);
        await using var b = await Start(300);
        var system = ActorSystem.Create("deployments-failing", "akka.loglevel = WARNING");
        try
        {
            var engine = Engine(system, $$"""
                { name = a, endpoint = "{{a.ApiBaseUrl}}", api-key = "{{Key}}", requests-per-second = 300 },
                { name = b, endpoint = "{{b.ApiBaseUrl}}", api-key = "{{Key}}", requests-per-second = 300 }
                """);
            var (collector, replies) = ReplyCollector.Start(system);
            var ids = Send(engine, collector, 2400, "f");
            while (replies.Count < 600)
            {
                await Task.Delay(10);
            }
            a.UpdateModelSettings("m", s => s with { Error500Rate = 1.0 });
            var acceptedBefore = a.GetStats().For("m").Totals.Accepted;

            await AwaitAll(ids, replies);

            var successes = replies.Values.Select(r => Assert.IsType<ChatSuccess>(r.Single())).ToList();
            var (statsA, statsB) = (a.GetStats().For("m").Totals, b.GetStats().For("m").Totals);
            output.WriteLine($"a: accepted {statsA.Accepted} ({acceptedBefore} before the switch), 5xx {statsA.ServerErrors}; b: accepted {statsB.Accepted}");
            Assert.Equal(successes.Count(s => s.Deployment == "a"), successes.Count - successes.Count(s => s.Deployment == "b"));
            Assert.Equal(2400 - successes.Count(s => s.Deployment == "a"), statsB.Accepted);
            // After the switch a sees the calls under way, the failures that cool it down and one probe per cool-down.
            Assert.InRange(statsA.ServerErrors, 3, 100);
            var status = await engine.GetStatusAsync("m");
            Assert.True(status.Deployments![0].CoolDowns >= 1);
            Assert.Equal(0, status.Pending);
        }
        finally
        {
            await system.Terminate();
        }
    }
}
