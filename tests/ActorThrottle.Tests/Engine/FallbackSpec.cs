using ActorThrottle.Configuration;
using ActorThrottle.Messages;
using ActorThrottle.Tests.Support;
using Xunit;

namespace ActorThrottle.Tests.Engine;

public sealed class FallbackSpec : EngineSpecBase
{
    private const string Fallbacks = """
        actor-throttle.defaults.retry.max-attempts = 2
        actor-throttle.models {
          primary { fallbacks = ["secondary", "tertiary"] }
          secondary { }
          tertiary { }
        }
        """;

    [Fact]
    public async Task A_request_that_exhausts_its_retries_is_answered_by_the_first_fallback_under_its_own_throttle()
    {
        var backend = new ScriptedBackend((r, _) => r.Model == "primary" ? ScriptedBackend.RateLimited() : ScriptedBackend.Success(r));
        var engine = StartEngine(backend, Fallbacks);
        var reply = await Ask<ChatSuccess>(engine, Request(model: "primary", id: "f1"));
        Assert.Equal("secondary-2024", reply.ModelUsed);
        Assert.Equal(3, reply.Attempts);
        Assert.Equal(3, backend.CallsFor("f1"));
        Assert.Equal(1, (await engine.GetStatusAsync("secondary")).Answered);
        Assert.Equal(0, (await engine.GetStatusAsync("primary")).Pending);
    }

    [Fact]
    public async Task While_a_model_is_down_its_requests_with_fallbacks_go_to_them_instead_of_waiting_for_its_probes()
    {
        var backend = new ScriptedBackend((r, _) => r.Model == "primary" ? ScriptedBackend.ServerError(529) : ScriptedBackend.Success(r));
        // Enough attempts and backoff (a minute) that without the outage's fallback the requests would still be waiting.
        var engine = StartEngine(backend, Fallbacks + "\nactor-throttle.defaults { retry { max-attempts = 6, base-delay = 60s, max-delay = 60s }\n adapt.cool-down = 20ms }");
        var first = Enumerable.Range(0, 20).Select(i => engine.CompleteAsync(Request(model: "primary", id: $"d{i}"))).ToList();
        var replies = await Task.WhenAll(first).WaitAsync(TimeSpan.FromSeconds(20));
        // Arriving while the outage lasts: straight to the fallback, never sent to the model that is down.
        var late = await Ask<ChatSuccess>(engine, Request(model: "primary", id: "late"));

        Assert.All(replies, r => Assert.Equal("secondary-2024", Assert.IsType<ChatSuccess>(r).ModelUsed));
        Assert.Equal("secondary-2024", late.ModelUsed);
        Assert.Equal(1, backend.CallsFor("late"));
        // Each went to the model that is down once, or twice when its retry was already in a call as the outage began.
        Assert.All(Enumerable.Range(0, 20), i => Assert.InRange(backend.CallsFor($"d{i}"), 1, 2));
    }

    [Fact]
    public async Task Insufficient_quota_falls_back_at_once()
    {
        var backend = new ScriptedBackend((r, _) => r.Model == "primary" ? ScriptedBackend.QuotaExceeded() : ScriptedBackend.Success(r));
        var engine = StartEngine(backend, Fallbacks);
        var reply = await Ask<ChatSuccess>(engine, Request(model: "primary", id: "q"));
        Assert.Equal("secondary-2024", reply.ModelUsed);
        Assert.Equal(2, reply.Attempts);
    }

    [Fact]
    public async Task A_permanent_error_does_not_fall_back()
    {
        var backend = new ScriptedBackend((r, _) => r.Model == "primary" ? ScriptedBackend.BadRequest() : ScriptedBackend.Success(r));
        var engine = StartEngine(backend, Fallbacks);
        var reply = await Ask<ChatFailure>(engine, Request(model: "primary", id: "p"));
        Assert.Equal(FailureReason.Permanent, reply.Reason);
        Assert.Equal(1, backend.TotalCalls);
    }

    [Fact]
    public async Task When_every_fallback_fails_the_last_failure_is_answered_once_with_all_attempts_counted()
    {
        var backend = new ScriptedBackend((_, _) => ScriptedBackend.ServerError());
        var engine = StartEngine(backend, Fallbacks);
        var (collector, replies) = ReplyCollector.Start(Sys);
        engine.Router.Tell(Request(model: "primary", id: "all"), collector);
        await AwaitConditionAsync(() => Task.FromResult(replies.Count == 1), TimeSpan.FromSeconds(20));
        await Task.Delay(200);
        var reply = Assert.IsType<ChatFailure>(Assert.Single(Assert.Single(replies).Value));
        Assert.Equal(FailureReason.Transient, reply.Reason);
        Assert.Equal(6, reply.Attempts);
        Assert.Equal(6, backend.CallsFor("all"));
        Assert.Contains("after falling back from primary, secondary", reply.Message);
    }

    [Fact]
    public async Task Cancelling_with_the_original_model_reaches_the_request_on_its_fallback()
    {
        var gate = new TaskCompletionSource();
        var backend = new ScriptedBackend(async (r, _, ct) =>
        {
            if (r.Model == "primary")
            {
                return ScriptedBackend.QuotaExceeded();
            }
            await gate.Task.WaitAsync(ct);
            return ScriptedBackend.Success(r);
        });
        var engine = StartEngine(backend, Fallbacks + "\nactor-throttle.models.secondary.max-in-flight = 1");
        var blocker = engine.CompleteAsync(Request(model: "secondary", id: "blocker"));
        await AwaitConditionAsync(() => Task.FromResult(backend.CallsFor("blocker") == 1));
        using var cts = new CancellationTokenSource();
        var moved = engine.CompleteAsync(Request(model: "primary", id: "moved"), cts.Token);
        await AwaitConditionAsync(async () => (await engine.GetStatusAsync("secondary")).Pending == 2);
        cts.Cancel();
        Assert.Equal(FailureReason.Cancelled, Assert.IsType<ChatFailure>(await moved.WaitAsync(TimeSpan.FromSeconds(10))).Reason);
        gate.SetResult();
        Assert.IsType<ChatSuccess>(await blocker);
        Assert.Equal(1, backend.CallsFor("moved"));
    }

    [Fact]
    public void Fallbacks_are_read_and_checked_at_startup()
    {
        var settings = TestConfig.Settings(Fallbacks);
        Assert.Equal(["secondary", "tertiary"], settings.ForModel("primary")!.Fallbacks);
        Assert.Empty(settings.ForModel("secondary")!.Fallbacks);

        var self = Assert.Throws<ActorThrottleConfigurationException>(() => TestConfig.Settings("actor-throttle.models.a.fallbacks = [a]"));
        Assert.Equal("actor-throttle.models.\"a\".fallbacks", self.Path);
        var unknown = Assert.Throws<ActorThrottleConfigurationException>(() =>
            TestConfig.Settings("actor-throttle { unknown-models = reject, models.a.fallbacks = [nowhere] }"));
        Assert.Contains("nowhere", unknown.Message);
        var notAList = Assert.Throws<ActorThrottleConfigurationException>(() => TestConfig.Settings("actor-throttle.models.a.fallbacks = b"));
        Assert.Equal("actor-throttle.models.\"a\".fallbacks", notAList.Path);
    }

    [Fact]
    public void The_provider_model_defaults_to_the_model_id()
    {
        var settings = TestConfig.Settings("""
            actor-throttle.models {
              "gpt-4o-mini@azure" { provider-model = "gpt-4o-mini" }
              plain { }
            }
            """);
        Assert.Equal("gpt-4o-mini", settings.ForModel("gpt-4o-mini@azure")!.ProviderModel);
        Assert.Null(settings.ForModel("plain")!.ProviderModel);
    }
}
