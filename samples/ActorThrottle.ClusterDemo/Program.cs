// Three ActorThrottle nodes on loopback in one process, all sending requests for one model to one simulated
// provider whose limit is 100 requests/s. With --cluster (the default) the nodes form an Akka.Cluster and share one
// throttle for the model (Cluster Sharding); with --independent each node throttles on its own, as three app
// instances without cluster mode would. The provider's per-second counts show the difference.
//
//   dotnet run -c Release --project samples/ActorThrottle.ClusterDemo [-- --independent] [--nodes 3] [--requests 300]
using System.Collections.Concurrent;
using System.Globalization;
using ActorThrottle;
using ActorThrottle.Cluster;
using ActorThrottle.Messages;
using Akka.Actor;
using Akka.Configuration;
using S = ActorThrottle.Simulator;

var independent = args.Contains("--independent");
var nodes = IntArg("--nodes", 3);
var perNode = IntArg("--requests", 300);
const string Model = "gpt-4o-mini";
const double Limit = 100;
const int ProviderBurst = 20;
const int Burst = 10;

await using var sim = await S.SimulatedProvider.StartNewAsync(new S.SimulatorOptions
{
    ApiKey = "sk-demo",
    Models = new Dictionary<string, S.ModelSettings>
    {
        [Model] = new() { RequestsPerSecond = Limit, RequestsPerSecondBurst = ProviderBurst, Latency = TimeSpan.FromMilliseconds(20), LatencyJitter = TimeSpan.FromMilliseconds(10) },
    },
    UnknownModels = S.UnknownModelPolicy.Reject,
});
Console.WriteLine($"Provider (simulator) at {sim.ApiBaseUrl}: {Model} accepts {Limit}/s, burst {ProviderBurst}.");
Console.WriteLine($"{nodes} nodes, {(independent ? "each with its own throttle (--independent)" : "one cluster, one throttle per model")}, each sending {perNode} requests at once.");

var hocon = $$"""
    actor-throttle {
      endpoint = "{{sim.ApiBaseUrl}}"
      api-key = "sk-demo"
      request-timeout = 5s
      cluster.enabled = {{(independent ? "off" : "on")}}
      defaults {
        requests-per-second = {{Limit.ToString(CultureInfo.InvariantCulture)}}
        max-burst = {{Burst}}
        max-in-flight = 16
        adapt.pause-on-retry-after = request
      }
    }
    akka {
      loglevel = WARNING
      actor.provider = {{(independent ? "local" : "cluster")}}
      remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0 }
      # The nodes stop together at the end; their disassociation is expected, not an error.
      remote.log-remote-lifecycle-events = off
      cluster { gossip-interval = 200ms, leader-actions-interval = 200ms }
      coordinated-shutdown.run-by-clr-shutdown-hook = off
      coordinated-shutdown.phases.cluster-exiting.timeout = 2s
    }
    """;

var systems = new List<ActorSystem>();
var engines = new List<ActorThrottleEngine>();
for (var i = 0; i < nodes; i++)
{
    var system = ActorSystem.Create("cluster-demo", ConfigurationFactory.ParseString(hocon));
    systems.Add(system);
    engines.Add(ActorThrottleCluster.Start(system, environment: new ThrottleEnvironment { Logger = Serilog.Core.Logger.None }));
}
if (!independent)
{
    var first = Akka.Cluster.Cluster.Get(systems[0]).SelfAddress;
    foreach (var system in systems)
    {
        Akka.Cluster.Cluster.Get(system).Join(first);
    }
    while (systems.Any(s => Akka.Cluster.Cluster.Get(s).State.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up) < nodes))
    {
        await Task.Delay(50);
    }
    Console.WriteLine($"Cluster up: {string.Join(", ", systems.Select(s => Akka.Cluster.Cluster.Get(s).SelfAddress.ToString()))}");
}

sim.ResetStats();
var started = DateTime.UtcNow;
var outcomes = new ConcurrentDictionary<string, int>();
var calls = engines.SelectMany((engine, n) => Enumerable.Range(0, perNode).Select(async i =>
{
    var reply = await engine.CompleteAsync(new ChatRequest(Model, [ChatMessage.User($"node {n} says hello {i}")]) { MaxTokens = 16 });
    outcomes.AddOrUpdate(reply is ChatFailure f ? f.Reason.ToString() : "Success", 1, (_, c) => c + 1);
})).ToList();
await Task.WhenAll(calls);
var elapsed = DateTime.UtcNow - started;

Console.WriteLine();
Console.WriteLine("second  accepted  429s   (provider side)");
foreach (var s in sim.GetStats().For(Model).PerSecond)
{
    Console.WriteLine($"{s.Second,6}  {s.Counters.Accepted,8}  {s.Counters.RateLimited,4}");
}
var totals = sim.GetStats().For(Model).Totals;
Console.WriteLine();
Console.WriteLine($"Replies: {string.Join(", ", outcomes.OrderBy(o => o.Key).Select(o => $"{o.Key} {o.Value}"))} of {nodes * perNode} in {elapsed.TotalSeconds:0.0} s");
Console.WriteLine($"Provider: accepted {totals.Accepted}, rejected 429 {totals.RateLimited}; most accepted in any 1 s window: {sim.MaxAcceptedInWindow(Model, TimeSpan.FromSeconds(1))} (limit {Limit}/s + burst {ProviderBurst})");

await Task.WhenAll(systems.Select(s => s.Terminate()));
return 0;

int IntArg(string name, int fallback)
{
    var at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length && int.TryParse(args[at + 1], CultureInfo.InvariantCulture, out var v) ? v : fallback;
}
