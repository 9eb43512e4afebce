using ActorThrottle.Backend;
using ActorThrottle.Configuration;
using ActorThrottle.Messages;
using ActorThrottle.Tests.Engine;
using ActorThrottle.Tests.Support;
using Akka.Actor;
using Xunit;

namespace ActorThrottle.Tests.Deployments;

/// <summary>A model over several deployments, each with its own scripted backend: routing, cool-down, the move of queued work.</summary>
public sealed class DeploymentBalancerSpec : EngineSpecBase
{
    private const string TwoDeployments = """
        actor-throttle.models.m {
          deployments = [
            { name = a, requests-per-second = 100 },
            { name = b, requests-per-second = 100 }
          ]
        }
        """;

    /// <summary>One scripted backend per deployment, by the deployment's id (<c>m@a</c>).</summary>
    private sealed class PerDeployment(IReadOnlyDictionary<string, ScriptedBackend> backends) : IChatBackendFactory
    {
        public IChatBackend Create(ModelSettings settings) => backends[settings.ModelId];
    }

    private async Task<IReadOnlyDictionary<string, ChatReply>> SendAll(ActorThrottleEngine engine, IEnumerable<ChatRequest> requests, TimeSpan within)
    {
        var (collector, replies) = ReplyCollector.Start(Sys);
        var ids = new List<string>();
        foreach (var request in requests)
        {
            ids.Add(request.RequestId);
            engine.Router.Tell(request, collector);
        }
        await AwaitConditionAsync(() => Task.FromResult(ids.All(replies.ContainsKey)), within, TimeSpan.FromMilliseconds(20));
        // Anything answered twice would show up within a few more ticks of the balancer.
        await Task.Delay(300);
        Assert.All(ids, id => Assert.Single(replies[id]));
        Assert.Equal(ids.Count, replies.Count);
        return replies.ToDictionary(r => r.Key, r => r.Value.Single());
    }

    [Fact]
    public async Task Callers_ask_for_the_model_and_the_reply_names_the_deployment_that_answered()
    {
        var a = ScriptedBackend.AlwaysSucceeds();
        var b = ScriptedBackend.AlwaysSucceeds();
        var engine = StartEngine(new PerDeployment(new Dictionary<string, ScriptedBackend> { ["m@a"] = a, ["m@b"] = b }), TwoDeployments);

        var replies = await SendAll(engine, Enumerable.Range(0, 60).Select(i => Request(id: $"r{i}")), TimeSpan.FromSeconds(20));

        var successes = replies.Values.Select(r => Assert.IsType<ChatSuccess>(r)).ToList();
        Assert.All(successes, s => Assert.Contains(s.Deployment, new[] { "a", "b" }));
        Assert.Equal(a.TotalCalls, successes.Count(s => s.Deployment == "a"));
        Assert.Equal(b.TotalCalls, successes.Count(s => s.Deployment == "b"));
        Assert.Equal(60, a.TotalCalls + b.TotalCalls);
        Assert.All(successes, s => Assert.Equal("m-2024", s.ModelUsed));   // the provider is asked for "m", not "m@a"
        var status = await engine.GetStatusAsync("m");
        Assert.Equal(0, status.Pending);
        Assert.Equal(60, status.Answered);
        Assert.Equal(["a", "b"], status.Deployments!.Select(d => d.Name));
        Assert.Equal(60, status.Deployments!.Sum(d => d.Successes));
    }

    [Fact]
    public async Task Limits_for_the_whole_model_are_refused_naming_its_deployments_before_and_after_it_started()
    {
        var a = ScriptedBackend.AlwaysSucceeds();
        var b = ScriptedBackend.AlwaysSucceeds();
        var engine = StartEngine(new PerDeployment(new Dictionary<string, ScriptedBackend> { ["m@a"] = a, ["m@b"] = b }), TwoDeployments);
        var limits = new ActorThrottle.Limits.ModelLimits { RequestsPerSecond = 5 };

        var before = await Assert.ThrowsAsync<ArgumentException>(() => engine.SetLimitsAsync("m", limits));
        await SendAll(engine, [Request(id: "first")], TimeSpan.FromSeconds(10));
        var after = await Assert.ThrowsAsync<ArgumentException>(() => engine.SetLimitsAsync("m", limits));

        Assert.All(new[] { before, after }, e =>
        {
            Assert.Equal("deployments", e.ParamName);
            Assert.Contains("name the deployment", e.Message);
            Assert.Contains("'a', 'b'", e.Message);
        });
        Assert.All((await engine.GetStatusAsync("m")).Deployments!, d => Assert.Equal(100, d.Rate));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Limits_named_for_one_deployment_apply_to_it_alone_and_answer_once(bool startedFirst)
    {
        var a = ScriptedBackend.AlwaysSucceeds();
        var b = ScriptedBackend.AlwaysSucceeds();
        var engine = StartEngine(new PerDeployment(new Dictionary<string, ScriptedBackend> { ["m@a"] = a, ["m@b"] = b }), TwoDeployments);
        if (startedFirst)
        {
            await SendAll(engine, [Request(id: "first")], TimeSpan.FromSeconds(10));
        }
        var probe = CreateTestProbe();

        engine.Router.Tell(new ActorThrottle.Limits.SetModelLimits("m", new ActorThrottle.Limits.ModelLimits { RequestsPerSecond = 5, MaxBurst = 2 }, "b"), probe.Ref);

        var set = await probe.ExpectMsgAsync<ActorThrottle.Limits.ModelLimitsSet>(TimeSpan.FromSeconds(10));
        await probe.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));
        Assert.Equal("m@b", set.Status.Model);
        Assert.Equal(5, set.Status.Rate);
        Assert.Equal(5, set.Status.Limits!.RequestsPerSecond);
        await AwaitConditionAsync(async () => (await engine.GetStatusAsync("m")).Deployments![1].Rate == 5, TimeSpan.FromSeconds(10));
        Assert.Equal([100.0, 5.0], (await engine.GetStatusAsync("m")).Deployments!.Select(d => d.Rate));
        // The client's overload says the same.
        var status = await engine.SetLimitsAsync("m", "a", new ActorThrottle.Limits.ModelLimits { RequestsPerSecond = 50 });
        Assert.Equal(("m@a", 50.0), (status.Model, status.Rate));
    }

    [Fact]
    public async Task A_deployment_the_model_does_not_list_a_model_without_deployments_and_queue_size_are_refused_by_name()
    {
        var a = ScriptedBackend.AlwaysSucceeds();
        var b = ScriptedBackend.AlwaysSucceeds();
        var single = ScriptedBackend.AlwaysSucceeds();
        var engine = StartEngine(new PerDeployment(new Dictionary<string, ScriptedBackend> { ["m@a"] = a, ["m@b"] = b, ["single"] = single }),
            TwoDeployments + "\nactor-throttle.models.single { }");
        var limits = new ActorThrottle.Limits.ModelLimits { RequestsPerSecond = 5 };

        var unknown = await Assert.ThrowsAsync<ArgumentException>(() => engine.SetLimitsAsync("m", "c", limits));
        Assert.Equal("deployment", unknown.ParamName);
        Assert.Contains("no deployment 'c'", unknown.Message);
        Assert.Contains("'a', 'b'", unknown.Message);

        var queue = await Assert.ThrowsAsync<ArgumentException>(() => engine.SetLimitsAsync("m", "a", new ActorThrottle.Limits.ModelLimits { QueueSize = 10 }));
        Assert.Equal("queue-size", queue.ParamName);

        // A model without deployments: not started, then running.
        var notStarted = await Assert.ThrowsAsync<ArgumentException>(() => engine.SetLimitsAsync("single", "a", limits));
        await Ask<ChatSuccess>(engine, Request(model: "single", id: "s1"));
        var running = await Assert.ThrowsAsync<ArgumentException>(() => engine.SetLimitsAsync("single", "a", limits));
        Assert.All(new[] { notStarted, running }, e =>
        {
            Assert.Equal("deployment", e.ParamName);
            Assert.Contains("lists no deployments", e.Message);
        });
        Assert.Equal(100, (await engine.GetStatusAsync("m")).Deployments![0].Rate);
        Assert.NotEqual(5, (await engine.GetStatusAsync("single")).Rate);
    }

    [Fact]
    public async Task A_faster_deployment_takes_the_larger_share()
    {
        var a = ScriptedBackend.AlwaysSucceeds();
        var b = ScriptedBackend.AlwaysSucceeds();
        var engine = StartEngine(new PerDeployment(new Dictionary<string, ScriptedBackend> { ["m@a"] = a, ["m@b"] = b }), """
            actor-throttle.models.m {
              max-burst = 1
              deployments = [ { name = a, requests-per-second = 40 }, { name = b, requests-per-second = 10 } ]
            }
            """);

        await SendAll(engine, Enumerable.Range(0, 150).Select(i => Request(id: $"s{i}")), TimeSpan.FromSeconds(30));

        // 40:10 is 80 %; each holds about a second of its rate, so the split is close to the rates' even over 3 s.
        var share = a.TotalCalls / 150.0;
        Assert.InRange(share, 0.7, 0.9);
    }

    [Fact]
    public async Task At_the_end_of_a_backlog_what_a_slow_deployment_has_not_sent_goes_to_the_idle_fast_one()
    {
        var gate = new TaskCompletionSource();
        var fast = new ScriptedBackend(async (r, _, ct) =>
        {
            await gate.Task.WaitAsync(ct);
            return ScriptedBackend.Success(r);
        });
        var slow = ScriptedBackend.AlwaysSucceeds();
        var engine = StartEngine(new PerDeployment(new Dictionary<string, ScriptedBackend> { ["m@fast"] = fast, ["m@slow"] = slow }), """
            actor-throttle.models.m {
              max-burst = 1
              deployments = [ { name = fast, requests-per-second = 10 }, { name = slow, requests-per-second = 0.2 } ]
            }
            """);
        var (collector, replies) = ReplyCollector.Start(Sys);
        // fast holds its capacity (10, a second of its rate), held up by the gate; the last two go to slow, which sends one
        // request per 5 s (the first may go at once: then slow holds one and has answered one).
        for (var i = 0; i < 12; i++)
        {
            engine.Router.Tell(Request(id: $"t{i}"), collector);
        }
        await AwaitConditionAsync(async () => (await engine.GetStatusAsync("m")).Deployments! is [{ Held: 10 }, var s] && s.Held + s.Answered == 2,
            TimeSpan.FromSeconds(10));

        gate.SetResult();

        // Without the move t11 would wait about 5 s on slow; fast, idle once its ten are answered, takes it.
        await AwaitConditionAsync(() => Task.FromResult(replies.Count == 12), TimeSpan.FromSeconds(4), TimeSpan.FromMilliseconds(20));
        await Task.Delay(300);
        Assert.All(replies.Values, r => Assert.IsType<ChatSuccess>(Assert.Single(r)));
        Assert.Equal("fast", Assert.IsType<ChatSuccess>(Assert.Single(replies["t11"])).Deployment);
        Assert.InRange(slow.TotalCalls, 0, 1);
        Assert.Equal(12, fast.TotalCalls + slow.TotalCalls);
    }

    [Fact]
    public async Task A_lower_priority_number_takes_the_work_while_it_has_room()
    {
        var a = ScriptedBackend.AlwaysSucceeds();
        var b = ScriptedBackend.AlwaysSucceeds();
        var engine = StartEngine(new PerDeployment(new Dictionary<string, ScriptedBackend> { ["m@a"] = a, ["m@b"] = b }), """
            actor-throttle.models.m {
              deployments = [ { name = a, priority = 1 }, { name = b, priority = 0 } ]
            }
            """);

        // One at a time: b (priority 0) always has room.
        for (var i = 0; i < 10; i++)
        {
            var reply = await Ask<ChatSuccess>(engine, Request(id: $"p{i}"));
            Assert.Equal("b", reply.Deployment);
        }
        Assert.Equal(0, a.TotalCalls);
    }

    [Fact]
    public async Task A_deployment_failing_mid_run_is_cooled_down_and_its_queued_requests_move_with_one_reply_each()
    {
        var failing = 0;
        var a = new ScriptedBackend((r, _) => Volatile.Read(ref failing) == 1 ? ScriptedBackend.ServerError() : ScriptedBackend.Success(r));
        var b = ScriptedBackend.AlwaysSucceeds();
        var engine = StartEngine(new PerDeployment(new Dictionary<string, ScriptedBackend> { ["m@a"] = a, ["m@b"] = b }), """
            actor-throttle.defaults.retry { max-attempts = 6, base-delay = 200ms, max-delay = 1s }
            actor-throttle.models.m {
              max-burst = 1
              deployments = [ { name = a, requests-per-second = 40 }, { name = b, requests-per-second = 40 } ]
            }
            """);
        var (collector, replies) = ReplyCollector.Start(Sys);
        for (var i = 0; i < 200; i++)
        {
            engine.Router.Tell(Request(id: $"f{i}"), collector);
        }
        await AwaitConditionAsync(() => Task.FromResult(replies.Count >= 40), TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(10));
        Interlocked.Exchange(ref failing, 1);
        var callsToABefore = a.TotalCalls;

        await AwaitConditionAsync(() => Task.FromResult(replies.Count == 200), TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(20));
        await Task.Delay(300);

        Assert.All(replies.Values, r => Assert.IsType<ChatSuccess>(Assert.Single(r)));
        var status = await engine.GetStatusAsync("m");
        var deploymentA = status.Deployments!.Single(d => d.Name == "a");
        Assert.True(deploymentA.CoolDowns >= 1);
        // After the switch a gets its three failing calls, the calls already under way and a probe per cool-down, not a share.
        Assert.InRange(a.TotalCalls - callsToABefore, 3, 20);
        Assert.Equal(0, status.Pending);
    }

    [Theory]
    [InlineData("", 1)]
    [InlineData("deployment-cool-down { failures-in-a-row = 1, first = 30s, max = 60s }", 0)]
    public async Task The_cool_down_thresholds_of_a_deployment_come_from_its_configuration(string coolDown, int secondRequestCallsToA)
    {
        var a = new ScriptedBackend((_, _) => ScriptedBackend.ServerError());
        var b = ScriptedBackend.AlwaysSucceeds();
        var engine = StartEngine(new PerDeployment(new Dictionary<string, ScriptedBackend> { ["m@a"] = a, ["m@b"] = b }), $$"""
            actor-throttle.defaults.retry.max-attempts = 1
            actor-throttle.models.m { deployments = [ { name = a, priority = 0, {{coolDown}} }, { name = b, priority = 1 } ] }
            """);

        var first = await Ask<ChatSuccess>(engine, Request(id: "x"));
        var second = await Ask<ChatSuccess>(engine, Request(id: "y"));

        Assert.Equal(("b", "b"), (first.Deployment, second.Deployment));
        Assert.Equal(1, a.CallsFor("x"));
        // By default one failure is not a run (three are); with failures-in-a-row = 1 it took a out for 30 s.
        Assert.Equal(secondRequestCallsToA, a.CallsFor("y"));
        var deploymentA = (await engine.GetStatusAsync("m")).Deployments!.Single(d => d.Name == "a");
        Assert.Equal(1 - secondRequestCallsToA, deploymentA.CoolDowns);
        if (secondRequestCallsToA == 0)
        {
            Assert.True(deploymentA.UnavailableUntil > DateTimeOffset.UtcNow + TimeSpan.FromSeconds(20), $"{deploymentA.UnavailableUntil:O}");
        }
    }

    [Fact]
    public async Task A_request_whose_retries_run_out_on_one_deployment_is_sent_to_the_next_with_its_attempts_counted()
    {
        var a = new ScriptedBackend((_, _) => ScriptedBackend.RateLimited());
        var b = ScriptedBackend.AlwaysSucceeds();
        var engine = StartEngine(new PerDeployment(new Dictionary<string, ScriptedBackend> { ["m@a"] = a, ["m@b"] = b }), """
            actor-throttle.defaults.retry.max-attempts = 2
            actor-throttle.models.m { deployments = [ { name = a, priority = 0 }, { name = b, priority = 1 } ] }
            """);

        var reply = await Ask<ChatSuccess>(engine, Request(id: "x"));

        Assert.Equal("b", reply.Deployment);
        Assert.Equal(3, reply.Attempts);
        Assert.Equal(2, a.CallsFor("x"));
        Assert.Equal(1, b.CallsFor("x"));
    }

    [Fact]
    public async Task A_request_waiting_for_a_full_deployment_does_not_hold_up_the_requests_behind_it()
    {
        var gate = new TaskCompletionSource();
        var b = new ScriptedBackend(async (r, _, ct) =>
        {
            await gate.Task.WaitAsync(ct);
            return ScriptedBackend.Success(r);
        });
        var a = new ScriptedBackend((r, _) => r.RequestId == "x" ? ScriptedBackend.ServerError() : ScriptedBackend.Success(r));
        var engine = StartEngine(new PerDeployment(new Dictionary<string, ScriptedBackend> { ["m@a"] = a, ["m@b"] = b }), """
            actor-throttle.defaults.retry.max-attempts = 2
            actor-throttle.models.m {
              deployments = [ { name = a, priority = 1 }, { name = b, priority = 0, requests-per-second = 1, max-burst = 1 } ]
            }
            """);
        var (collector, replies) = ReplyCollector.Start(Sys);
        engine.Router.Tell(Request(id: "f1"), collector);
        engine.Router.Tell(Request(id: "f2"), collector);
        await AwaitConditionAsync(() => Task.FromResult(b.TotalCalls >= 1), TimeSpan.FromSeconds(10));
        // b (priority 0) holds its two and is full; x goes to a, fails there twice and must wait for b.
        engine.Router.Tell(Request(id: "x"), collector);
        await AwaitConditionAsync(() => Task.FromResult(a.CallsFor("x") == 2), TimeSpan.FromSeconds(10));
        engine.Router.Tell(Request(id: "y"), collector);

        await AwaitConditionAsync(() => Task.FromResult(replies.ContainsKey("y")), TimeSpan.FromSeconds(10));
        Assert.Equal("a", Assert.IsType<ChatSuccess>(Assert.Single(replies["y"])).Deployment);
        Assert.False(replies.ContainsKey("x"));
        gate.SetResult();
        await AwaitConditionAsync(() => Task.FromResult(replies.Count == 4), TimeSpan.FromSeconds(10));
        var x = Assert.IsType<ChatSuccess>(Assert.Single(replies["x"]));
        Assert.Equal("b", x.Deployment);
        Assert.Equal(3, x.Attempts);
    }

    [Fact]
    public async Task Fallbacks_to_other_models_come_after_every_deployment()
    {
        var a = new ScriptedBackend((_, _) => ScriptedBackend.ServerError());
        var b = new ScriptedBackend((_, _) => ScriptedBackend.ServerError());
        var other = ScriptedBackend.AlwaysSucceeds();
        var engine = StartEngine(new PerDeployment(new Dictionary<string, ScriptedBackend> { ["m@a"] = a, ["m@b"] = b, ["other"] = other }), """
            actor-throttle.defaults.retry.max-attempts = 2
            actor-throttle.models.m { fallbacks = [other], deployments = [ { name = a }, { name = b } ] }
            actor-throttle.models.other { }
            """);

        var reply = await Ask<ChatSuccess>(engine, Request(id: "y"));

        Assert.Equal("other-2024", reply.ModelUsed);
        Assert.Null(reply.Deployment);
        Assert.Equal(5, reply.Attempts);
        Assert.Equal((2, 2, 1), (a.CallsFor("y"), b.CallsFor("y"), other.CallsFor("y")));
    }

    [Fact]
    public async Task When_every_deployment_fails_the_caller_gets_one_failure_naming_the_model()
    {
        var a = new ScriptedBackend((_, _) => ScriptedBackend.ServerError());
        var b = new ScriptedBackend((_, _) => ScriptedBackend.ServerError());
        var engine = StartEngine(new PerDeployment(new Dictionary<string, ScriptedBackend> { ["m@a"] = a, ["m@b"] = b }), """
            actor-throttle.defaults.retry.max-attempts = 2
            actor-throttle.models.m { deployments = [ { name = a }, { name = b } ] }
            """);

        var replies = await SendAll(engine, [Request(id: "z")], TimeSpan.FromSeconds(20));

        var failure = Assert.IsType<ChatFailure>(replies["z"]);
        Assert.Equal(FailureReason.Transient, failure.Reason);
        Assert.Equal(4, failure.Attempts);
        Assert.Contains("Every deployment of 'm' failed", failure.Message);
    }

    [Fact]
    public async Task Cancelling_reaches_a_request_held_by_a_deployment_and_one_queued_in_the_balancer()
    {
        var gate = new TaskCompletionSource();
        var a = new ScriptedBackend(async (r, _, ct) =>
        {
            await gate.Task.WaitAsync(ct);
            return ScriptedBackend.Success(r);
        });
        var engine = StartEngine(new PerDeployment(new Dictionary<string, ScriptedBackend> { ["m@a"] = a }), """
            actor-throttle.models.m { deployments = [ { name = a, requests-per-second = 1, max-burst = 1 } ] }
            """);
        var (collector, replies) = ReplyCollector.Start(Sys);
        // At 1 req/s the deployment holds two (its capacity floor); the rest wait in the balancer.
        for (var i = 0; i < 5; i++)
        {
            engine.Router.Tell(Request(id: $"c{i}"), collector);
        }
        await AwaitConditionAsync(() => Task.FromResult(a.TotalCalls >= 1), TimeSpan.FromSeconds(20));
        engine.Router.Tell(new CancelRequest("m", "c0"));   // in flight on a
        engine.Router.Tell(new CancelRequest("m", "c4"));   // queued in the balancer

        await AwaitConditionAsync(() => Task.FromResult(replies.ContainsKey("c0") && replies.ContainsKey("c4")), TimeSpan.FromSeconds(20));
        Assert.Equal(FailureReason.Cancelled, Assert.IsType<ChatFailure>(Assert.Single(replies["c0"])).Reason);
        Assert.Equal(FailureReason.Cancelled, Assert.IsType<ChatFailure>(Assert.Single(replies["c4"])).Reason);
        gate.SetResult();
        await AwaitConditionAsync(() => Task.FromResult(replies.Count == 5), TimeSpan.FromSeconds(30));
        Assert.All(new[] { "c1", "c2", "c3" }, id => Assert.IsType<ChatSuccess>(Assert.Single(replies[id])));
        Assert.Equal(0, a.CallsFor("c4"));
    }

    [Fact]
    public async Task A_streamed_request_gets_its_chunks_in_order_then_one_reply_naming_the_deployment()
    {
        var stream = ScriptedStreamBackend.Pieces("Hel", "lo", "!");
        var engine = StartEngine(new StreamPerDeployment(stream), """
            actor-throttle.models.m { deployments = [ { name = only } ] }
            """);

        var answer = await engine.Client.StreamAsync(Request(id: "st"));
        var chunks = new List<string>();
        await foreach (var chunk in answer)
        {
            chunks.Add(chunk.Content);
        }
        var reply = Assert.IsType<ChatSuccess>(await answer.Reply.WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Equal(["Hel", "lo", "!"], chunks);
        Assert.Equal("only", reply.Deployment);
    }

    private sealed class StreamPerDeployment(ScriptedStreamBackend backend) : IChatBackendFactory
    {
        public IChatBackend Create(ModelSettings settings) => backend;
    }

    [Fact]
    public async Task Shutdown_answers_everything_the_model_holds_once()
    {
        var gate = new TaskCompletionSource();
        var a = new ScriptedBackend(async (r, _, ct) =>
        {
            await gate.Task.WaitAsync(ct);
            return ScriptedBackend.Success(r);
        });
        var engine = StartEngine(new PerDeployment(new Dictionary<string, ScriptedBackend> { ["m@a"] = a, ["m@b"] = a }), TwoDeployments);
        var (collector, replies) = ReplyCollector.Start(Sys);
        for (var i = 0; i < 300; i++)
        {
            engine.Router.Tell(Request(id: $"d{i}"), collector);
        }
        await AwaitConditionAsync(() => Task.FromResult(a.TotalCalls > 0), TimeSpan.FromSeconds(10));

        var done = await engine.Router.Ask<ActorThrottle.Routing.ThrottleShutdownComplete>(ActorThrottle.Routing.ShutdownThrottle.Instance, TimeSpan.FromSeconds(10));
        Assert.Equal(1, done.Models);

        await AwaitConditionAsync(() => Task.FromResult(replies.Count == 300), TimeSpan.FromSeconds(10));
        Assert.All(replies.Values, r => Assert.Single(r));
        Assert.Contains(replies.Values, r => r.Single() is ChatFailure { Reason: FailureReason.ShuttingDown });
    }

    [Fact]
    public async Task Each_deployment_starts_from_the_state_the_entity_is_given_as_a_single_endpoint_model_does_after_a_move()
    {
        var settings = TestConfig.Settings(TwoDeployments + "\nactor-throttle.defaults { max-burst = 10, min-burst = 1 }").ForModel("m")!;
        var backends = new[] { ScriptedBackend.AlwaysSucceeds(), ScriptedBackend.AlwaysSucceeds() };
        using var metrics = new ActorThrottle.Diagnostics.ActorThrottleMetrics();
        var environment = new ThrottleEnvironment { Logger = new Serilog.LoggerConfiguration().CreateLogger() };
        var seen = new List<string>();
        var balancer = Sys.ActorOf(ActorThrottle.Deployments.DeploymentBalancer.Props(settings, environment, backends, metrics, TimeSpan.FromSeconds(1),
            start: deployment =>
            {
                seen.Add(deployment.ModelId);
                return new ActorThrottle.Adaptation.AimdState(2, deployment.RequestsPerSecond);
            }));

        // The balancer's status sums what its deployments report (each 100 ms): two bursts of 2 at 100/s, not max-burst.
        await AwaitAssertAsync(async () =>
        {
            var status = await balancer.Ask<ActorThrottle.Models.ModelStatus>(new ActorThrottle.Models.GetModelStatus("m"), TimeSpan.FromSeconds(5));
            Assert.Equal(4, status.Burst);
            Assert.Equal(200, status.Rate);
        }, TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(50));
        // Each deployment's own settings, not the model's.
        Assert.Equal(["m@a", "m@b"], seen);
    }
}
