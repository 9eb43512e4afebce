using ActorThrottle.Messages;
using ActorThrottle.Tests.Backend;
using Xunit;
using Xunit.Abstractions;
using AkkaCluster = Akka.Cluster.Cluster;
using S = ActorThrottle.Simulator;

namespace ActorThrottle.Tests.Cluster;

/// <summary>
/// Cluster mode with a model over two deployments: the model's balancer is the sharded entity, so each deployment's
/// limit holds for the whole cluster and every request is answered once, naming its deployment.
/// </summary>
[Collection(LoopbackCollection.Name)]
public sealed class DeploymentsClusterSpec(ITestOutputHelper output)
{
    private static S.ModelSettings SimModel(int seed) => new()
    {
        RequestsPerSecond = 5000,
        RequestsPerSecondBurst = 1000,
        Latency = TimeSpan.FromMilliseconds(2),
        LatencyJitter = TimeSpan.FromMilliseconds(3),
        Seed = seed,
    };

    [Fact]
    public async Task Two_nodes_share_each_deployments_limit_and_every_request_is_answered_once()
    {
        await using var cluster = await ClusterHarness.StartAsync(2,
            new Dictionary<string, S.ModelSettings> { ["m@a"] = SimModel(1), ["m@b"] = SimModel(2) },
            """
            actor-throttle.shutdown-grace = 2s
            actor-throttle.defaults { queue-size = 5000, max-in-flight = 16, retry { max-attempts = 8, base-delay = 5ms, max-delay = 100ms } }
            actor-throttle.models.m {
              deployments = [
                { name = a, provider-model = "m@a", requests-per-second = 150, max-burst = 15 }
                { name = b, provider-model = "m@b", requests-per-second = 50, max-burst = 5 }
              ]
            }
            """,
            output);

        var sends = cluster.Nodes.Select((node, n) => cluster.SendPacedAsync(node, "m", 300, 100_000, $"m-n{n}"));
        var ids = (await Task.WhenAll(sends)).SelectMany(x => x).ToList();
        await cluster.AwaitAnsweredAsync(ids, TimeSpan.FromSeconds(40));

        var replies = cluster.AssertAnsweredExactlyOnce(ids);
        var successes = replies.Values.Select(r => Assert.IsType<ChatSuccess>(r)).ToList();
        foreach (var (name, rate, burst) in new[] { ("a", 150.0, 15), ("b", 50.0, 5) })
        {
            var model = "m@" + name;
            var totals = cluster.Sim.GetStats().For(model).Totals;
            var maxIn1s = cluster.Sim.MaxAcceptedInWindow(model, TimeSpan.FromSeconds(1));
            output.WriteLine($"{model}: accepted {totals.Accepted}, max in 1 s {maxIn1s} (limit {rate}/s + burst {burst})");
            Assert.Equal(totals.Accepted, successes.Count(s => s.Deployment == name));
            // One throttle per deployment for the cluster: one per node would let about twice the rate through. 30 % for
            // arrival jitter on a busy machine (a second's releases can reach the simulator bunched).
            Assert.InRange(maxIn1s, 1, rate * 1.3 + burst);
        }
        Assert.Equal(600, successes.Count);

        // Limits per deployment reach the one sharded balancer from either node; the model-level call is refused.
        foreach (var node in cluster.Nodes)
        {
            var limits = new ActorThrottle.Limits.ModelLimits { RequestsPerSecond = 20 + cluster.Nodes.IndexOf(node) };
            var set = await node.Engine.SetLimitsAsync("m", "b", limits, TimeSpan.FromSeconds(10));
            Assert.Equal(("m@b", limits.RequestsPerSecond.Value), (set.Model, set.Rate));
            var whole = await Assert.ThrowsAsync<ArgumentException>(() => node.Engine.SetLimitsAsync("m", limits, TimeSpan.FromSeconds(10)));
            Assert.Equal("deployments", whole.ParamName);
            var unknown = await Assert.ThrowsAsync<ArgumentException>(() => node.Engine.SetLimitsAsync("m", "c", limits, TimeSpan.FromSeconds(10)));
            Assert.Equal("deployment", unknown.ParamName);
        }
    }

    [Fact]
    public async Task A_node_that_leaves_hands_its_balanced_models_off_and_every_request_succeeds_once()
    {
        string[] models = ["b0", "b1", "b2", "b3"];
        var deployments = string.Join("\n", models.Select(m =>
            $"\"{m}\" {{ deployments = [ {{ name = a, provider-model = \"{m}@a\" }}, {{ name = b, provider-model = \"{m}@b\" }} ] }}"));
        await using var cluster = await ClusterHarness.StartAsync(3,
            models.SelectMany(m => new[] { m + "@a", m + "@b" }).Select((id, i) => (id, SimModel(i + 1))).ToDictionary(x => x.id, x => x.Item2),
            $$"""
            actor-throttle.shutdown-grace = 2s
            actor-throttle.defaults { requests-per-second = 50, max-burst = 5, queue-size = 5000, max-in-flight = 16, retry { max-attempts = 8, base-delay = 5ms, max-delay = 100ms } }
            actor-throttle.models {
            {{deployments}}
            }
            """,
            output);

        var (warm, hosted) = await cluster.PlaceModelsAsync(models);
        var leaving = hosted[2].Count > 0 ? 2 : 1;
        Assert.NotEmpty(hosted[leaving]);
        var senders = cluster.Nodes.Where((_, i) => i != leaving).ToList();
        // 150 per model from each staying node: three seconds of backlog per model at 2 × 50/s.
        var sends = senders.SelectMany((node, n) => models.Select(m => cluster.SendPacedAsync(node, m, 150, 100_000, $"{m}-s{n}")));
        var ids = warm.Concat((await Task.WhenAll(sends)).SelectMany(x => x)).ToList();
        await Task.Delay(1000);
        var leavingNode = cluster.Nodes[leaving];
        var pendingBefore = 0;
        foreach (var m in hosted[leaving])
        {
            pendingBefore += (await leavingNode.Engine.GetStatusAsync(m)).Pending;
        }
        output.WriteLine($"node {leaving} leaves holding {pendingBefore} requests of {string.Join(", ", hosted[leaving])}");
        Assert.True(pendingBefore > 0, "the leaving node must hold queued requests for the test to mean anything");
        await AkkaCluster.Get(leavingNode.System).LeaveAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await leavingNode.System.WhenTerminated.WaitAsync(TimeSpan.FromSeconds(30));

        await cluster.AwaitAnsweredAsync(ids, TimeSpan.FromSeconds(60));
        var replies = cluster.AssertAnsweredExactlyOnce(ids);
        var failures = replies.Values.OfType<ChatFailure>().GroupBy(f => f.Reason).Select(g => $"{g.Key} {g.Count()}").ToList();
        output.WriteLine($"answered {replies.Count}, failures: {(failures.Count == 0 ? "none" : string.Join(", ", failures))}");
        // Queued requests (in the balancer and unsent in its deployments) went to the model's next incarnation.
        Assert.All(replies.Values, r => Assert.NotNull(Assert.IsType<ChatSuccess>(r).Deployment));
    }
}
