using ActorThrottle.Cluster;
using ActorThrottle.Hosting;
using ActorThrottle.Messages;
using ActorThrottle.Tests.Backend;
using ActorThrottle.Tests.Support;
using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;
using AkkaCluster = Akka.Cluster.Cluster;

namespace ActorThrottle.Tests.Cluster;

/// <summary><c>WithActorThrottleCluster</c> in a Generic Host: a one-node cluster whose models are sharded entities.</summary>
[Collection(LoopbackCollection.Name)]
public sealed class ClusterHostingSpec
{
    private const string ClusterHocon = """
        akka.actor.provider = cluster
        akka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0 }
        akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
        akka.coordinated-shutdown.phases.cluster-exiting.timeout = 2s
        akka.loglevel = WARNING
        """;

    [Fact]
    public async Task With_the_cluster_option_requests_go_through_the_shard_region_and_the_ask_is_unchanged()
    {
        var backend = ScriptedBackend.AlwaysSucceeds();
        using var host = Host.CreateDefaultBuilder()
            .ConfigureServices(services =>
            {
                services.AddAkka("cluster-hosting-spec", builder =>
                {
                    builder.AddHocon(ClusterHocon, HoconAddMode.Prepend);
                    builder.WithActorThrottleCluster(o =>
                    {
                        o.Environment = new ThrottleEnvironment { BackendFactory = backend, Logger = new Serilog.LoggerConfiguration().CreateLogger() };
                        o.Cluster = new ActorThrottleClusterOptions { NumberOfShards = 8, StartBurstFraction = 0.25 };
                        o.Model("gpt-4.1-mini", m => { m.RequestsPerSecond = 100; m.MaxBurst = 8; });
                    });
                });
                services.AddActorThrottleClient();
            })
            .Build();
        await host.StartAsync();
        try
        {
            var system = host.Services.GetRequiredService<ActorSystem>();
            var cluster = AkkaCluster.Get(system);
            cluster.Join(cluster.SelfAddress);

            var client = host.Services.GetRequiredService<ActorThrottleClient>();
            var reply = Assert.IsType<ChatSuccess>(await client.CompleteAsync("gpt-4.1-mini", "hello").WaitAsync(TimeSpan.FromSeconds(20)));
            Assert.Equal(1, reply.Attempts);
            var status = await client.GetStatusAsync("gpt-4.1-mini", TimeSpan.FromSeconds(10));
            // The entity started from a quarter of max-burst (the conservative start of cluster mode).
            Assert.Equal(2, status.Burst);
            Assert.Equal(1, status.Answered);

            // Limits set at run time reach the sharded entity like the model's other messages.
            Assert.Equal("gpt-4.1-mini", new ModelMessageExtractor(8).EntityId(new ActorThrottle.Limits.SetModelLimits("gpt-4.1-mini", new())));
            var limited = await client.SetLimitsAsync("gpt-4.1-mini", new ActorThrottle.Limits.ModelLimits { RequestsPerSecond = 40 }, TimeSpan.FromSeconds(10));
            Assert.Equal(40, limited.Rate);
            Assert.Equal(40, (await client.GetStatusAsync("gpt-4.1-mini", TimeSpan.FromSeconds(10))).Limits!.RequestsPerSecond);

            var region = ClusterSharding.Get(system).ShardRegion(ActorThrottleCluster.TypeName);
            var state = await region.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, TimeSpan.FromSeconds(5));
            Assert.Contains("gpt-4.1-mini", state.Shards.SelectMany(s => s.EntityIds));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task In_cluster_mode_a_cancelled_request_is_answered_cancelled_once_through_the_relay()
    {
        var backend = new ScriptedBackend(async (r, _, ct) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(30), ct);
            return ScriptedBackend.Success(r);
        });
        var hocon = ClusterHocon + """

            actor-throttle {
              endpoint = "http://127.0.0.1:9/v1"
              shutdown-grace = 300ms
              cluster.enabled = on
              defaults { requests-per-second = 1, max-burst = 1, min-rate = 0.1, max-in-flight = 1 }
            }
            """;
        using var system = ActorSystem.Create("cluster-cancel", hocon);
        var engine = ActorThrottleCluster.Start(system, environment: new ThrottleEnvironment { BackendFactory = backend, Logger = new Serilog.LoggerConfiguration().CreateLogger() });
        var cluster = AkkaCluster.Get(system);
        cluster.Join(cluster.SelfAddress);

        // The first request holds the only call slot; the second waits in the queue and is cancelled there.
        var first = engine.CompleteAsync(new ChatRequest("m", [ChatMessage.User("one")]) { RequestId = "one" });
        using var cts = new CancellationTokenSource();
        var second = engine.CompleteAsync(new ChatRequest("m", [ChatMessage.User("two")]) { RequestId = "two" }, cts.Token);
        var status = await engine.GetStatusAsync("m", TimeSpan.FromSeconds(20));
        for (var i = 0; i < 100 && status.Pending < 2; i++)
        {
            await Task.Delay(50);
            status = await engine.GetStatusAsync("m");
        }
        Assert.Equal(2, status.Pending);
        await cts.CancelAsync();
        var reply = Assert.IsType<ChatFailure>(await second.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(FailureReason.Cancelled, reply.Reason);
        Assert.Equal(0, backend.CallsFor("two"));
        Assert.False(first.IsCompleted);
        await system.Terminate();
        // Shutdown answers what is left (the call in flight) instead of leaving its caller hanging.
        Assert.Equal(FailureReason.ShuttingDown, Assert.IsType<ChatFailure>(await first.WaitAsync(TimeSpan.FromSeconds(20))).Reason);
    }

    [Fact]
    public void Cluster_mode_without_the_cluster_package_start_is_refused_with_a_pointer_to_it()
    {
        using var system = ActorSystem.Create("no-cluster", "akka.loglevel = WARNING");
        var settings = TestConfig.Settings("actor-throttle.cluster.enabled = on");
        var e = Assert.Throws<InvalidOperationException>(() => ActorThrottleEngine.Start(system, settings));
        Assert.Contains("ActorThrottleCluster.Start", e.Message);
        var e2 = Assert.Throws<InvalidOperationException>(() => ActorThrottleCluster.Start(system, settings));
        Assert.Contains("akka.actor.provider = cluster", e2.Message);
    }

    [Fact]
    public void The_conservative_start_is_a_fraction_of_max_burst_never_below_min_burst()
    {
        var model = TestConfig.Settings("actor-throttle.defaults { max-burst = 10, min-burst = 3 }").Defaults;
        Assert.Equal(5, ActorThrottleCluster.ConservativeStart(model, 0.5).Burst);
        Assert.Equal(3, ActorThrottleCluster.ConservativeStart(model, 0.1).Burst);
        Assert.Equal(10, ActorThrottleCluster.ConservativeStart(model, 1).Burst);
        Assert.Equal(model.RequestsPerSecond, ActorThrottleCluster.ConservativeStart(model, 0.5).Rate);
    }
}
