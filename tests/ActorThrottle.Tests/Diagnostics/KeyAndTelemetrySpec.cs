using ActorThrottle.Backend;
using ActorThrottle.Diagnostics;
using ActorThrottle.Messages;
using ActorThrottle.Tests.Backend;
using ActorThrottle.Tests.Support;
using Akka.Actor;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Serilog;
using Serilog.Events;
using Xunit;

namespace ActorThrottle.Tests.Diagnostics;

/// <summary>
/// The real OpenAI backend against a loopback server answering 401s, 429s and 5xx: the API key never reaches a
/// log line (ours or Akka's, both through Serilog), a reply or an exception; every attempt is logged once with its
/// route, model, status, latency, attempt, tokens and burst; the meter counts what happened.
/// </summary>
[Collection(LoopbackCollection.Name)]
public sealed class KeyAndTelemetrySpec : IAsyncLifetime
{
    private const string Key = "sk-live-TOPSECRET-0042";
    private ScriptedHttpServer _server = null!;

    public async Task InitializeAsync() => _server = await ScriptedHttpServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task The_key_never_appears_in_logs_replies_or_metrics_and_every_attempt_is_logged()
    {
        // The server echoes the Authorization header back in every error, as a careless gateway might.
        _server.Respond(request =>
        {
            var echoed = request.Header("Authorization") ?? "";
            var model = request.Body.Contains("\"m401\"") ? "m401" : request.Body.Contains("\"m429\"") ? "m429" : request.Body.Contains("\"m503\"") ? "m503" : "ok";
            return model switch
            {
                "m401" => ScriptedResponse.Error(401, "invalid_api_key", $"Incorrect API key provided: {echoed}"),
                "m429" => ScriptedResponse.Error(429, "rate_limit_exceeded", $"Rate limit for {echoed}").WithHeader("retry-after-ms", "5"),
                "m503" => ScriptedResponse.Error(503, null, $"overloaded ({echoed})"),
                _ => ScriptedResponse.Completion("fine"),
            };
        });

        var sink = new CapturingSink();
        var logger = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(sink).CreateLogger();
        var previous = Log.Logger;
        Log.Logger = logger;
        var system = ActorSystem.Create("keys", """
            akka.loglevel = DEBUG
            akka.loggers = ["Akka.Logger.Serilog.SerilogLogger, Akka.Logger.Serilog"]
            """);
        using var metrics = new ActorThrottleMetrics();
        using var attempts = new MetricCollector<long>(metrics.Meter, "actor_throttle.attempts");
        using var successes = new MetricCollector<long>(metrics.Meter, "actor_throttle.successes");
        using var limited = new MetricCollector<long>(metrics.Meter, "actor_throttle.rate_limited");
        using var retries = new MetricCollector<long>(metrics.Meter, "actor_throttle.retries");
        using var failures = new MetricCollector<long>(metrics.Meter, "actor_throttle.failures");
        using var latency = new MetricCollector<double>(metrics.Meter, "actor_throttle.attempt.duration");
        using var burst = new MetricCollector<double>(metrics.Meter, "actor_throttle.burst");
        var replies = new List<ChatReply>();
        try
        {
            var settings = TestConfig.Settings($$"""
                actor-throttle {
                  endpoint = "{{_server.V1}}"
                  api-key = "{{Key}}"
                  defaults.retry { max-attempts = 3, base-delay = 1ms, max-delay = 5ms }
                }
                """);
            var engine = ActorThrottleEngine.Start(system, settings, new ThrottleEnvironment { Logger = logger, Metrics = metrics, RandomFor = _ => new Random(7) });
            foreach (var model in new[] { "m401", "m429", "m503", "ok" })
            {
                replies.Add(await engine.CompleteAsync(new ChatRequest(model, [ChatMessage.User("hi")]) { RequestId = model + "-req" }).WaitAsync(TimeSpan.FromSeconds(20)));
            }
            burst.RecordObservableInstruments();
        }
        finally
        {
            await system.Terminate();
            Log.Logger = previous;
        }

        // Replies: typed, and free of the key even though the provider echoed it.
        var byModel = replies.ToDictionary(r => r.RequestId);
        Assert.Equal(FailureReason.Permanent, Assert.IsType<ChatFailure>(byModel["m401-req"]).Reason);
        Assert.Equal(FailureReason.RateLimitedExhausted, Assert.IsType<ChatFailure>(byModel["m429-req"]).Reason);
        Assert.Equal(FailureReason.Transient, Assert.IsType<ChatFailure>(byModel["m503-req"]).Reason);
        Assert.IsType<ChatSuccess>(byModel["ok-req"]);
        Assert.All(replies, r => Assert.DoesNotContain(Key, r.ToString()));
        Assert.Contains("***", ((ChatFailure)byModel["m401-req"]).Message);

        // Logs: the key nowhere; one event per attempt (1 + 3 + 3 + 1) with the documented properties.
        var all = sink.AllText();
        Assert.DoesNotContain(Key, all);
        Assert.DoesNotContain("TOPSECRET", all);
        var attemptEvents = sink.Events.Where(e => e.MessageTemplate.Text.StartsWith("Attempt ")).ToList();
        Assert.Equal(8, attemptEvents.Count);
        foreach (var property in new[] { "Route", "Model", "Status", "LatencyMs", "Attempt", "Tokens", "Burst" })
        {
            Assert.All(attemptEvents, e => Assert.True(e.Properties.ContainsKey(property), $"missing {property}"));
        }
        Assert.Contains(attemptEvents, e => e.Properties["Route"].ToString().Contains($"127.0.0.1:{_server.Port}/v1"));
        Assert.Contains(sink.Events, e => e.Properties.TryGetValue("SourceContext", out var c) && c.ToString().Contains("Akka"));

        // Metrics: the attempts, outcomes and latencies of this run, tagged by model and never by key.
        Assert.Equal(8, attempts.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal(1, successes.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal(3, limited.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal(4, retries.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal(3, failures.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Contains(failures.GetMeasurementSnapshot(), m => (string?)m.Tags["reason"] == "RateLimitedExhausted");
        Assert.Equal(8, latency.GetMeasurementSnapshot().Count);
        Assert.Contains(burst.GetMeasurementSnapshot(), m => (string?)m.Tags["model"] == "m429" && m.Value < 10);
        Assert.All(attempts.GetMeasurementSnapshot(), m => Assert.DoesNotContain(Key, string.Join(",", m.Tags.Values)));
    }

    [Fact]
    public async Task Queue_depth_is_reported_per_model_while_requests_wait()
    {
        using var metrics = new ActorThrottleMetrics();
        using var depth = new MetricCollector<double>(metrics.Meter, "actor_throttle.queue.depth");
        var gate = new TaskCompletionSource();
        var backend = new ScriptedBackend(async (r, _, _) => { await gate.Task; return ScriptedBackend.Success(r); });
        var system = ActorSystem.Create("depth", "akka.loglevel = WARNING");
        try
        {
            var engine = ActorThrottleEngine.Start(system, TestConfig.Settings("actor-throttle.defaults.max-in-flight = 1"),
                new ThrottleEnvironment { BackendFactory = backend, Metrics = metrics, Logger = new LoggerConfiguration().CreateLogger() });
            var pending = Enumerable.Range(0, 5).Select(i => engine.CompleteAsync(new ChatRequest("deep", [ChatMessage.User("x")]))).ToList();
            for (var i = 0; i < 100 && (await engine.GetStatusAsync("deep")).Pending < 5; i++)
            {
                await Task.Delay(20);
            }
            depth.RecordObservableInstruments();
            Assert.Equal(5, depth.LastMeasurement!.Value);
            gate.SetResult();
            await Task.WhenAll(pending);
            depth.RecordObservableInstruments();
            Assert.Equal(0, depth.LastMeasurement!.Value);
        }
        finally
        {
            await system.Terminate();
        }
    }
}
