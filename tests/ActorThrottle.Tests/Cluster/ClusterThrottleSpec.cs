using ActorThrottle.Messages;
using ActorThrottle.Tests.Backend;
using Akka.Actor;
using Xunit;
using Xunit.Abstractions;
using AkkaCluster = Akka.Cluster.Cluster;
using S = ActorThrottle.Simulator;

namespace ActorThrottle.Tests.Cluster;

/// <summary>
/// Three actor systems on loopback form a cluster; each sends requests for the same models against one simulator
/// whose own limits are far above the engine's. The simulator's server-side counts show whether one throttle per
/// model ran for the whole cluster (accepted per second ≤ the engine's rate + burst) or one per node (about three
/// times that).
/// </summary>
[Collection(LoopbackCollection.Name)]
public sealed class ClusterThrottleSpec(ITestOutputHelper output)
{
    private const string Common = """
        actor-throttle.shutdown-grace = 2s
        actor-throttle.defaults {
          max-in-flight = 16
          queue-size = 5000
          min-rate = 20
          retry { max-attempts = 8, base-delay = 5ms, max-delay = 100ms }
          adapt { cool-down = 200ms, increase-after = 5 }
        }
        """;

    // Terminate without CoordinatedShutdown = a crash: no leave, no hand-off. The split-brain resolver (keep-majority)
    // downs the silent node once the cluster has been stable for 2 s.
    private const string Crashable = """
        akka.coordinated-shutdown.run-by-actor-system-terminate = off
        akka.cluster.downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
        akka.cluster.split-brain-resolver { active-strategy = keep-majority, stable-after = 2s }
        akka.cluster.failure-detector { heartbeat-interval = 500ms, acceptable-heartbeat-pause = 2s }
        """;

    // Generous provider limits: any excess over the engine's configured rate would be accepted and show up.
    private static S.ModelSettings SimModel(int seed) => new()
    {
        RequestsPerSecond = 5000,
        RequestsPerSecondBurst = 1000,
        Latency = TimeSpan.FromMilliseconds(2),
        LatencyJitter = TimeSpan.FromMilliseconds(3),
        Seed = seed,
    };

    [Fact]
    public async Task A_fallback_goes_to_the_other_models_own_entity_not_a_second_one_in_the_first_models_shard()
    {
        var models = new Dictionary<string, S.ModelSettings>
        {
            ["alpha"] = SimModel(1) with { InsufficientQuota = true },
            ["beta"] = SimModel(2),
        };
        await using var cluster = await ClusterHarness.StartAsync(1, models, Common + "\nactor-throttle.models.alpha { fallbacks = [\"beta\"] }", output);
        var node = cluster.Nodes[0];

        var direct = await cluster.SendPacedAsync(node, "beta", 1, 1, "direct");
        await cluster.AwaitAnsweredAsync(direct, TimeSpan.FromSeconds(20));
        var fellBack = await cluster.SendPacedAsync(node, "alpha", 3, 1000, "fell-back");
        await cluster.AwaitAnsweredAsync(fellBack, TimeSpan.FromSeconds(20));

        var replies = cluster.AssertAnsweredExactlyOnce([.. direct, .. fellBack]);
        Assert.All(replies.Values, r => Assert.IsType<ChatSuccess>(r));
        var region = Akka.Cluster.Sharding.ClusterSharding.Get(node.System).ShardRegion(ActorThrottle.Cluster.ActorThrottleCluster.TypeName);
        var state = await region.Ask<Akka.Cluster.Sharding.CurrentShardRegionState>(Akka.Cluster.Sharding.GetShardRegionState.Instance, TimeSpan.FromSeconds(5));
        var shardsOf = (string model) => state.Shards.Where(s => s.EntityIds.Contains(model)).Select(s => s.ShardId).ToList();
        output.WriteLine(string.Join("; ", state.Shards.Select(s => $"{s.ShardId}: {string.Join(",", s.EntityIds)}")));
        // The two models hash to different shards (else this test shows nothing), and beta runs in its own only: one throttle.
        var betaShard = Assert.Single(shardsOf("beta"));
        Assert.NotEqual(Assert.Single(shardsOf("alpha")), betaShard);
    }

    [Fact]
    public async Task Three_nodes_share_one_throttle_per_model_and_every_request_is_answered_once()
    {
        const double rate = 200;
        const int burst = 20;
        string[] models = ["alpha", "beta"];
        await using var cluster = await ClusterHarness.StartAsync(3,
            models.Select((m, i) => (m, SimModel(i + 1))).ToDictionary(x => x.m, x => x.Item2),
            Common + $"\nactor-throttle.defaults {{ requests-per-second = {rate}, max-burst = {burst} }}",
            output);

        // Every node offers 200 requests per model at once: 600 per model in all, three times the model's rate.
        var sends = cluster.Nodes.SelectMany((node, n) => models.Select(m => cluster.SendPacedAsync(node, m, 200, 100_000, $"{m}-n{n}")));
        var ids = (await Task.WhenAll(sends)).SelectMany(x => x).ToList();
        await cluster.AwaitAnsweredAsync(ids, TimeSpan.FromSeconds(40));

        var replies = cluster.AssertAnsweredExactlyOnce(ids);
        Assert.All(replies.Values, r => Assert.IsType<ChatSuccess>(r));
        foreach (var model in models)
        {
            cluster.Dump(model);
            var totals = cluster.Sim.GetStats().For(model).Totals;
            var maxIn1s = cluster.Sim.MaxAcceptedInWindow(model, TimeSpan.FromSeconds(1));
            var maxIn100ms = cluster.Sim.MaxAcceptedInWindow(model, TimeSpan.FromMilliseconds(100));
            output.WriteLine($"{model}: accepted {totals.Accepted}, 429 {totals.RateLimited}; max accepted in 1 s {maxIn1s} (limit {rate}/s + burst {burst}), in 100 ms {maxIn100ms}");
            Assert.Equal(600, totals.Accepted);
            Assert.Equal(0, totals.RateLimited);
            // One throttle per model: rate·1 s + burst, with 10% for arrival jitter on a busy machine. One throttle
            // per node would let about 3 × 200 through in a second.
            Assert.InRange(maxIn1s, 1, rate * 1.1 + burst);
        }
    }

    [Fact]
    public async Task A_node_that_leaves_mid_run_hands_its_models_off_and_nothing_is_lost()
    {
        const double rate = 100;
        const int burst = 10;
        string[] models = ["m0", "m1", "m2", "m3"];
        await using var cluster = await ClusterHarness.StartAsync(3,
            models.Select((m, i) => (m, SimModel(i + 1))).ToDictionary(x => x.m, x => x.Item2),
            Common + $"\nactor-throttle.defaults {{ requests-per-second = {rate}, max-burst = {burst} }}",
            output);

        var (warm, hosted) = await cluster.PlaceModelsAsync(models);
        // The node to leave: one (not the oldest, which holds the coordinator) that hosts models.
        var leaving = hosted[2].Count > 0 ? 2 : 1;
        Assert.NotEmpty(hosted[leaving]);
        var senders = cluster.Nodes.Where((_, i) => i != leaving).ToList();

        // The two staying nodes offer 150 requests per model each at once: three seconds of backlog per model.
        var sends = senders.SelectMany((node, n) => models.Select(m => cluster.SendPacedAsync(node, m, 150, 100_000, $"{m}-s{n}")));
        var ids = warm.Concat((await Task.WhenAll(sends)).SelectMany(x => x)).ToList();
        await Task.Delay(1000);
        var leavingNode = cluster.Nodes[leaving];
        var pendingBefore = new Dictionary<string, int>();
        foreach (var m in hosted[leaving])
        {
            pendingBefore[m] = (await leavingNode.Engine.GetStatusAsync(m)).Pending;
        }
        output.WriteLine($"node {leaving} leaves holding: {string.Join(", ", pendingBefore.Select(p => $"{p.Key}={p.Value}"))}");
        Assert.True(pendingBefore.Values.Sum() > 0, "the leaving node must hold queued requests for the test to mean anything");
        await AkkaCluster.Get(leavingNode.System).LeaveAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await leavingNode.System.WhenTerminated.WaitAsync(TimeSpan.FromSeconds(30));

        await cluster.AwaitAnsweredAsync(ids, TimeSpan.FromSeconds(40));
        var stayed = cluster.Nodes.Where((_, i) => i != leaving).ToList();
        var hostedAfter = new HashSet<string>();
        foreach (var node in stayed)
        {
            hostedAfter.UnionWith(await cluster.HostedModelsAsync(node));
        }
        Assert.Superset(hosted[leaving].ToHashSet(), hostedAfter);
        var replies = cluster.AssertAnsweredExactlyOnce(ids);
        var failures = replies.Values.OfType<ChatFailure>().GroupBy(f => f.Reason).Select(g => $"{g.Key} {g.Count()}").ToList();
        output.WriteLine($"answered {replies.Count}, failures: {(failures.Count == 0 ? "none" : string.Join(", ", failures))}");
        // Queued requests were re-delivered to the model's next incarnation, not failed.
        Assert.All(replies.Values, r => Assert.IsType<ChatSuccess>(r));
        foreach (var model in models)
        {
            cluster.Dump(model);
            var maxIn1s = cluster.Sim.MaxAcceptedInWindow(model, TimeSpan.FromSeconds(1));
            output.WriteLine($"{model}: accepted {cluster.Sim.GetStats().For(model).Totals.Accepted}, max accepted in 1 s {maxIn1s} (limit {rate}/s + burst {burst})");
            // Across the move too: the new incarnation starts from half the burst.
            Assert.InRange(maxIn1s, 1, rate * 1.1 + burst * 1.5);
        }
    }

    [Fact]
    public async Task A_node_that_joins_mid_run_takes_shards_over_by_rebalance_and_nothing_is_lost()
    {
        const double rate = 100;
        const int burst = 10;
        string[] models = ["j0", "j1", "j2", "j3"];
        await using var cluster = await ClusterHarness.StartAsync(3,
            models.Select((m, i) => (m, SimModel(i + 1))).ToDictionary(x => x.m, x => x.Item2),
            Common + "\nakka.cluster.sharding.rebalance-interval = 500ms" + $"\nactor-throttle.defaults {{ requests-per-second = {rate}, max-burst = {burst} }}",
            output, joinNow: 2);

        // Two nodes hold the four models (two each) and a backlog of four seconds per model; then a third joins and
        // the allocation strategy moves a shard to it: a hand-off under load.
        var sends = cluster.Nodes.Take(2).SelectMany((node, n) => models.Select(m => cluster.SendPacedAsync(node, m, 200, 100_000, $"{m}-s{n}")));
        var ids = (await Task.WhenAll(sends)).SelectMany(x => x).ToList();
        await Task.Delay(500);
        cluster.Join(cluster.Nodes[2]);
        await cluster.AwaitUpAsync(3, TimeSpan.FromSeconds(20));
        IReadOnlySet<string> moved = new HashSet<string>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (moved.Count == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
            moved = await cluster.HostedModelsAsync(cluster.Nodes[2]);
        }
        var unanswered = ids.Count(id => !cluster.Replies.ContainsKey(id));
        output.WriteLine($"moved to the new node: {string.Join(",", moved)}; {unanswered} requests unanswered at that time");
        Assert.NotEmpty(moved);

        await cluster.AwaitAnsweredAsync(ids, TimeSpan.FromSeconds(40));
        var replies = cluster.AssertAnsweredExactlyOnce(ids);
        Assert.All(replies.Values, r => Assert.IsType<ChatSuccess>(r));
        foreach (var model in models)
        {
            var maxIn1s = cluster.Sim.MaxAcceptedInWindow(model, TimeSpan.FromSeconds(1));
            output.WriteLine($"{model}: accepted {cluster.Sim.GetStats().For(model).Totals.Accepted}, max accepted in 1 s {maxIn1s} (limit {rate}/s + burst {burst})");
            Assert.Equal(400, cluster.Sim.GetStats().For(model).Totals.Accepted);
            Assert.InRange(maxIn1s, 1, rate * 1.1 + burst * 1.5);
        }
    }

    [Fact]
    public async Task A_stream_from_a_node_without_the_model_arrives_in_order_through_the_relay_with_one_reply()
    {
        await using var cluster = await ClusterHarness.StartAsync(2,
            new Dictionary<string, S.ModelSettings> { ["s"] = SimModel(9) },
            Common + "\nactor-throttle.cluster.role = throttle\nactor-throttle.defaults { requests-per-second = 200, max-burst = 10 }",
            output,
            perNode: i => i == 0 ? "akka.cluster.roles = [throttle]" : "");
        var client = cluster.Nodes[1].Engine.Client;
        for (var i = 0; i < 3; i++)
        {
            var stream = await client.StreamAsync(new ChatRequest("s", [ChatMessage.User("Say hello.")]) { MaxTokens = 12 });
            var chunks = new List<ChatChunk>();
            await foreach (var chunk in stream.WithCancellation(CancellationToken.None))
            {
                chunks.Add(chunk);
            }
            var success = Assert.IsType<ChatSuccess>(await stream.Reply.WaitAsync(TimeSpan.FromSeconds(20)));
            Assert.NotEmpty(chunks);
            Assert.Equal(Enumerable.Range(0, chunks.Count), chunks.Select(c => c.Index));
            Assert.Equal(success.Content, string.Concat(chunks.Select(c => c.Content)));
        }
        Assert.Equal(3, cluster.Sim.GetStats().For("s").Totals.Accepted);
        Assert.Contains("s", await cluster.HostedModelsAsync(cluster.Nodes[0]));
    }

    [Fact]
    public async Task With_a_role_only_nodes_with_it_host_throttles_and_the_others_reach_them_through_a_proxy()
    {
        await using var cluster = await ClusterHarness.StartAsync(2,
            new Dictionary<string, S.ModelSettings> { ["r"] = SimModel(7) },
            Common + "\nactor-throttle.cluster.role = throttle\nactor-throttle.defaults { requests-per-second = 200, max-burst = 10 }",
            output,
            perNode: i => i == 0 ? "akka.cluster.roles = [throttle]" : "");
        var ids = (await Task.WhenAll(cluster.Nodes.Select((node, n) => cluster.SendPacedAsync(node, "r", 50, 100_000, $"r-n{n}")))).SelectMany(x => x).ToList();
        await cluster.AwaitAnsweredAsync(ids, TimeSpan.FromSeconds(20));
        var replies = cluster.AssertAnsweredExactlyOnce(ids);
        Assert.All(replies.Values, r => Assert.IsType<ChatSuccess>(r));
        Assert.Contains("r", await cluster.HostedModelsAsync(cluster.Nodes[0]));
        Assert.Equal(100, cluster.Sim.GetStats().For("r").Totals.Accepted);
    }

    [Fact]
    [Trait("Category", "Long")]
    public async Task A_node_that_crashes_is_downed_and_what_it_held_is_resent_to_the_next_incarnation()
    {
        const double rate = 100;
        const int burst = 10;
        string[] models = ["c0", "c1", "c2", "c3"];
        await using var cluster = await ClusterHarness.StartAsync(3,
            models.Select((m, i) => (m, SimModel(i + 1))).ToDictionary(x => x.m, x => x.Item2),
            Common + Crashable + $"\nactor-throttle.defaults {{ requests-per-second = {rate}, max-burst = {burst} }}",
            output);

        var (warm, hosted) = await cluster.PlaceModelsAsync(models);
        var crashing = hosted[2].Count > 0 ? 2 : 1;
        Assert.NotEmpty(hosted[crashing]);
        var senders = cluster.Nodes.Where((_, i) => i != crashing).ToList();

        var sends = senders.SelectMany((node, n) => models.Select(m => cluster.SendPacedAsync(node, m, 150, 100_000, $"{m}-s{n}")));
        var ids = warm.Concat((await Task.WhenAll(sends)).SelectMany(x => x)).ToList();
        await Task.Delay(1000);
        var crashNode = cluster.Nodes[crashing];
        var held = 0;
        foreach (var m in hosted[crashing])
        {
            held += (await crashNode.Engine.GetStatusAsync(m)).Pending;
        }
        output.WriteLine($"node {crashing} crashes holding {held} requests");
        Assert.True(held > 0);
        await crashNode.System.Terminate().WaitAsync(TimeSpan.FromSeconds(10));

        await cluster.AwaitAnsweredAsync(ids, TimeSpan.FromSeconds(60));
        var replies = cluster.AssertAnsweredExactlyOnce(ids);
        var failures = replies.Values.OfType<ChatFailure>().GroupBy(f => f.Reason).Select(g => $"{g.Key} {g.Count()}").ToList();
        output.WriteLine($"answered {replies.Count}, failures: {(failures.Count == 0 ? "none" : string.Join(", ", failures))}");
        Assert.All(replies.Values, r => Assert.IsType<ChatSuccess>(r));
        foreach (var model in models)
        {
            cluster.Dump(model);
            var totals = cluster.Sim.GetStats().For(model).Totals;
            var maxIn1s = cluster.Sim.MaxAcceptedInWindow(model, TimeSpan.FromSeconds(1));
            // A call the crashed node had in flight may have reached the provider and is made again: at least once to the provider.
            output.WriteLine($"{model}: accepted {totals.Accepted} for 301 requests, max accepted in 1 s {maxIn1s} (limit {rate}/s + burst {burst})");
            Assert.InRange(maxIn1s, 1, rate * 1.1 + burst * 1.5);
        }
    }

    [Fact]
    [Trait("Category", "Long")]
    public async Task A_stream_whose_node_crashes_after_chunks_were_delivered_ends_StreamInterrupted_once_instead_of_starting_over()
    {
        // A slow stream: 40 chunks 250 ms apart, so it is still flowing when its node dies.
        var slow = SimModel(21) with { StreamChunkInterval = TimeSpan.FromMilliseconds(250) };
        await using var cluster = await ClusterHarness.StartAsync(3,
            new Dictionary<string, S.ModelSettings> { ["cs"] = slow },
            Common + Crashable + "\nactor-throttle.request-timeout = 30s\nactor-throttle.defaults { requests-per-second = 100, max-burst = 10 }",
            output);
        var (_, hosted) = await cluster.PlaceModelsAsync(["cs"]);
        var host = hosted.FindIndex(h => h.Contains("cs"));
        Assert.True(host >= 0);
        var caller = cluster.Nodes[(host + 1) % cluster.Nodes.Count];

        var stream = await caller.Engine.Client.StreamAsync(new ChatRequest("cs", [ChatMessage.User("A long answer, please.")]) { MaxTokens = 40 });
        var chunks = new List<ChatChunk>();
        await using var enumerator = stream.GetAsyncEnumerator();
        Assert.True(await enumerator.MoveNextAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20)));
        chunks.Add(enumerator.Current);
        output.WriteLine($"first chunk from node {host}; crashing it");
        await cluster.Nodes[host].System.Terminate().WaitAsync(TimeSpan.FromSeconds(10));
        while (await enumerator.MoveNextAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60)))
        {
            chunks.Add(enumerator.Current);
        }

        var failure = Assert.IsType<ChatFailure>(await stream.Reply.WaitAsync(TimeSpan.FromSeconds(5)));
        output.WriteLine($"{chunks.Count} chunks, then {failure.Reason}: {failure.Message}");
        Assert.Equal(FailureReason.StreamInterrupted, failure.Reason);
        Assert.InRange(chunks.Count, 1, 39);
        Assert.Equal(Enumerable.Range(0, chunks.Count), chunks.Select(c => c.Index));
        // Not started over elsewhere: the provider admitted this one stream only.
        await Task.Delay(2000);
        Assert.Equal(1, cluster.Sim.GetStats().For("cs").Totals.Streamed);
    }
}
