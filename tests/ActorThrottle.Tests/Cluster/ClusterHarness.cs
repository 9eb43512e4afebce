using System.Collections.Concurrent;
using System.Globalization;
using ActorThrottle.Cluster;
using ActorThrottle.Diagnostics;
using ActorThrottle.Messages;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Configuration;
using Serilog;
using Xunit;
using Xunit.Abstractions;
using AkkaCluster = Akka.Cluster.Cluster;
using S = ActorThrottle.Simulator;

namespace ActorThrottle.Tests.Cluster;

/// <summary>
/// Several actor systems in one process forming an Akka.Cluster on loopback (port 0), each running ActorThrottle in
/// cluster mode against one in-process simulator. Every node has its own reply collector (replies travel back over
/// remoting to the sender's node); all collectors count into one dictionary, so a duplicate answer is counted.
/// </summary>
internal sealed class ClusterHarness : IAsyncDisposable
{
    public const string ApiKey = "sk-cluster-test";

    private readonly ITestOutputHelper _output;
    private readonly List<ActorThrottleMetrics> _metrics = [];

    private ClusterHarness(S.SimulatedProvider sim, ITestOutputHelper output)
    {
        Sim = sim;
        _output = output;
    }

    public S.SimulatedProvider Sim { get; }

    public List<Node> Nodes { get; } = [];

    public ConcurrentDictionary<string, ConcurrentQueue<ChatReply>> Replies { get; } = new(StringComparer.Ordinal);

    public sealed record Node(ActorSystem System, ActorThrottleEngine Engine, IActorRef Collector)
    {
        public Address Address => AkkaCluster.Get(System).SelfAddress;
    }

    public static async Task<ClusterHarness> StartAsync(int nodes, IReadOnlyDictionary<string, S.ModelSettings> models, string hocon, ITestOutputHelper output,
        Func<int, string>? perNode = null, int? joinNow = null)
    {
        var sim = await S.SimulatedProvider.StartNewAsync(new S.SimulatorOptions
        {
            ApiKey = ApiKey,
            Models = models,
            UnknownModels = S.UnknownModelPolicy.Reject,
        });
        var harness = new ClusterHarness(sim, output);
        try
        {
            for (var i = 0; i < nodes; i++)
            {
                harness.StartNode((perNode?.Invoke(i) ?? "") + "\n" + hocon);
            }
            var joining = joinNow ?? nodes;
            foreach (var node in harness.Nodes.Take(joining))
            {
                harness.Join(node);
            }
            await harness.AwaitUpAsync(joining, TimeSpan.FromSeconds(20));
        }
        catch
        {
            await harness.DisposeAsync();
            throw;
        }
        return harness;
    }

    private void StartNode(string hocon)
    {
        var config = ConfigurationFactory.ParseString($$"""
            {{hocon}}
            actor-throttle {
              endpoint = "{{Sim.ApiBaseUrl}}"
              api-key = "{{ApiKey}}"
              cluster.enabled = on
            }
            akka {
              loglevel = WARNING
              stdout-loglevel = WARNING
              actor.provider = cluster
              remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0 }
              cluster {
                gossip-interval = 200ms
                leader-actions-interval = 200ms
                unreachable-nodes-reaper-interval = 500ms
                sharding.retry-interval = 200ms
              }
              coordinated-shutdown.run-by-clr-shutdown-hook = off
              # Tear-down stops every node at once: nobody is left to confirm the exit.
              coordinated-shutdown.phases.cluster-exiting.timeout = 2s
            }
            """).WithFallback(ConfigurationFactory.ParseString(Support.TestConfig.FastDefaults));
        var system = ActorSystem.Create("throttle-cluster", config);
        var metrics = new ActorThrottleMetrics();
        _metrics.Add(metrics);
        var engine = ActorThrottleCluster.Start(system, environment: new ThrottleEnvironment
        {
            RandomFor = model => new Random(model.Length * 7919 + Nodes.Count),
            Logger = new LoggerConfiguration().CreateLogger(),
            Metrics = metrics,
        });
        var replies = Replies;
        var collector = system.ActorOf(Props.Create(() => new Support.ReplyCollector(replies)), "collector");
        Nodes.Add(new Node(system, engine, collector));
    }

    /// <summary>Joins <paramref name="node"/> to the first node's cluster.</summary>
    public void Join(Node node) => AkkaCluster.Get(node.System).Join(Nodes[0].Address);

    public async Task AwaitUpAsync(int members, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (Nodes.Take(members).Any(n => AkkaCluster.Get(n.System).State.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up) != members))
        {
            Assert.True(DateTime.UtcNow < deadline, $"the cluster did not reach {members} Up members in time");
            await Task.Delay(50);
        }
    }

    /// <summary>Sends <paramref name="count"/> requests for <paramref name="model"/> through <paramref name="node"/>'s router at about <paramref name="perSecond"/>.</summary>
    public async Task<List<string>> SendPacedAsync(Node node, string model, int count, double perSecond, string prefix, CancellationToken stop = default)
    {
        var ids = new List<string>(count);
        var started = TimeProvider.System.GetTimestamp();
        var sent = 0;
        while (sent < count && !stop.IsCancellationRequested)
        {
            var elapsed = TimeProvider.System.GetElapsedTime(started);
            var due = Math.Min(count, (int)Math.Ceiling(elapsed.TotalSeconds * perSecond) + 1);
            for (; sent < due; sent++)
            {
                var id = prefix + "-" + sent.ToString(CultureInfo.InvariantCulture);
                ids.Add(id);
                node.Engine.Router.Tell(new ChatRequest(model, [ChatMessage.User("Hello number " + sent.ToString(CultureInfo.InvariantCulture))]) { RequestId = id, MaxTokens = 16 }, node.Collector);
            }
            await Task.Delay(10);
        }
        return ids;
    }

    public async Task AwaitAnsweredAsync(IReadOnlyCollection<string> ids, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (ids.Any(id => !Replies.ContainsKey(id)))
        {
            if (DateTime.UtcNow > deadline)
            {
                var missing = ids.Where(id => !Replies.ContainsKey(id)).ToList();
                // Which sender and model lost them, and how far each got: a lost backlog and a slow one look different.
                var byPrefix = missing.GroupBy(id => id[..id.LastIndexOf('-')])
                    .Select(g => $"{g.Key}: {g.Count()} (from #{g.Min(id => int.Parse(id[(id.LastIndexOf('-') + 1)..], CultureInfo.InvariantCulture))})");
                Assert.Fail($"{missing.Count} of {ids.Count} requests had no reply in time; unanswered by sender: {string.Join(", ", byPrefix)}.");
            }
            await Task.Delay(20);
        }
        // A duplicate answer would arrive within this time.
        await Task.Delay(300);
    }

    public IReadOnlyDictionary<string, ChatReply> AssertAnsweredExactlyOnce(IReadOnlyCollection<string> ids)
    {
        var result = new Dictionary<string, ChatReply>(StringComparer.Ordinal);
        foreach (var id in ids)
        {
            Assert.True(Replies.TryGetValue(id, out var answers), $"{id} was never answered");
            Assert.True(answers!.Count == 1, $"{id} was answered {answers.Count} times");
            answers.TryPeek(out var reply);
            result[id] = reply!;
        }
        Assert.Equal(ids.Count, Replies.Count);
        return result;
    }

    /// <summary>
    /// One request per model from the first node, so every model's entity is placed somewhere; then which models each node
    /// hosts (logged). Returns the warm-up request ids and the hosted sets by node index.
    /// </summary>
    public async Task<(List<string> Warm, List<IReadOnlySet<string>> Hosted)> PlaceModelsAsync(IEnumerable<string> models)
    {
        // Shards go to the regions the coordinator knows when the first message arrives: wait until every node's region has
        // registered, or a busy machine puts every model on the first node.
        await AwaitRegionsRegisteredAsync(TimeSpan.FromSeconds(20));
        var warm = new List<string>();
        foreach (var m in models)
        {
            warm.AddRange(await SendPacedAsync(Nodes[0], m, 1, 1, $"warm-{m}"));
        }
        await AwaitAnsweredAsync(warm, TimeSpan.FromSeconds(20));
        var hosted = new List<IReadOnlySet<string>>();
        foreach (var node in Nodes)
        {
            hosted.Add(await HostedModelsAsync(node));
        }
        _output.WriteLine(string.Join("; ", hosted.Select((h, i) => $"node {i}: {string.Join(",", h.Order())}")));
        return (warm, hosted);
    }

    /// <summary>Waits until the shard coordinator knows a region on every node (regions register after their member is Up).</summary>
    public async Task AwaitRegionsRegisteredAsync(TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        var region = ClusterSharding.Get(Nodes[0].System).ShardRegion(ActorThrottleCluster.TypeName);
        while (true)
        {
            var stats = await region.Ask<ClusterShardingStats>(new GetClusterShardingStats(TimeSpan.FromSeconds(3)), TimeSpan.FromSeconds(5));
            if (stats.Regions.Count >= Nodes.Count)
            {
                return;
            }
            Assert.True(DateTime.UtcNow < deadline, $"only {stats.Regions.Count} of {Nodes.Count} shard regions registered in time");
            await Task.Delay(100);
        }
    }

    /// <summary>The model ids whose entities <paramref name="node"/> hosts now.</summary>
    public async Task<IReadOnlySet<string>> HostedModelsAsync(Node node)
    {
        var region = ClusterSharding.Get(node.System).ShardRegion(ActorThrottleCluster.TypeName);
        var state = await region.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, TimeSpan.FromSeconds(5));
        return state.Shards.SelectMany(s => s.EntityIds).ToHashSet(StringComparer.Ordinal);
    }

    public void Dump(string model)
    {
        foreach (var s in Sim.GetStats().For(model).PerSecond)
        {
            _output.WriteLine($"{model} s{s.Second}: accepted {s.Counters.Accepted}, 429 {s.Counters.RateLimited}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(Nodes.Select(n => n.System.Terminate().WaitAsync(TimeSpan.FromSeconds(15))).Select(async t =>
        {
            try
            {
                await t;
            }
            catch (TimeoutException)
            {
            }
        }));
        await Sim.DisposeAsync();
        foreach (var m in _metrics)
        {
            m.Dispose();
        }
    }
}
