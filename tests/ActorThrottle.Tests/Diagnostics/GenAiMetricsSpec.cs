using ActorThrottle.Diagnostics;
using ActorThrottle.Messages;
using ActorThrottle.Tests.Backend;
using ActorThrottle.Tests.Support;
using Akka.Actor;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Serilog;
using Xunit;

namespace ActorThrottle.Tests.Diagnostics;

/// <summary>
/// The meter's GenAI client metrics (OpenTelemetry semantic conventions: names, units, attributes) and the throttle's own
/// instruments, over the real OpenAI backend against a loopback server answering one 429 and then a completion.
/// </summary>
[Collection(LoopbackCollection.Name)]
public sealed class GenAiMetricsSpec : IAsyncLifetime
{
    private ScriptedHttpServer _server = null!;

    public async Task InitializeAsync() => _server = await ScriptedHttpServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_429_then_a_success_records_two_operations_the_tokens_queue_waits_and_the_throttle_instruments()
    {
        var calls = 0;
        _server.Respond(_ => Interlocked.Increment(ref calls) == 1
            ? ScriptedResponse.Error(429, "rate_limit_exceeded", "slow down").WithHeader("retry-after-ms", "20")
            : ScriptedResponse.Completion("fine", promptTokens: 12, completionTokens: 3));
        using var metrics = new ActorThrottleMetrics();
        using var duration = new MetricCollector<double>(metrics.Meter, "gen_ai.client.operation.duration");
        using var tokens = new MetricCollector<long>(metrics.Meter, "gen_ai.client.token.usage");
        using var queueWait = new MetricCollector<double>(metrics.Meter, "actor_throttle.queue.wait");
        using var attempts = new MetricCollector<long>(metrics.Meter, "actor_throttle.attempts");
        using var legacyDuration = new MetricCollector<double>(metrics.Meter, "actor_throttle.attempt.duration");
        using var pauses = new MetricCollector<long>(metrics.Meter, "actor_throttle.pauses");
        using var rateChanges = new MetricCollector<long>(metrics.Meter, "actor_throttle.rate.changes");
        using var rate = new MetricCollector<double>(metrics.Meter, "actor_throttle.rate");
        using var burst = new MetricCollector<double>(metrics.Meter, "actor_throttle.burst");
        var system = ActorSystem.Create("genai-metrics", "akka.loglevel = WARNING");
        try
        {
            var engine = ActorThrottleEngine.Start(system, TestConfig.Settings($$"""
                actor-throttle {
                  endpoint = "{{_server.V1}}"
                  api-key = "sk-metrics-SECRET-1"
                  defaults {
                    requests-per-second = 50
                    retry { max-attempts = 3, base-delay = 1ms, max-delay = 5ms }
                    adapt.pause-on-retry-after = model
                  }
                  models."gpt-metrics" { provider-model = "gpt-4o-mini" }
                }
                """), new ThrottleEnvironment { Metrics = metrics, Logger = new LoggerConfiguration().CreateLogger(), RandomFor = _ => new Random(5) });
            var reply = await engine.CompleteAsync(new ChatRequest("gpt-metrics", [ChatMessage.User("hi")])).WaitAsync(TimeSpan.FromSeconds(20));
            Assert.IsType<ChatSuccess>(reply);
        }
        finally
        {
            await system.Terminate();
        }

        // gen_ai.client.operation.duration: seconds, one per attempt, the conventions' attributes; error.type on the 429 only.
        Assert.Equal("s", duration.Instrument!.Unit);
        var operations = duration.GetMeasurementSnapshot();
        Assert.Equal(2, operations.Count);
        foreach (var m in operations)
        {
            Assert.Equal("chat", m.Tags["gen_ai.operation.name"]);
            Assert.Equal("gpt-4o-mini", m.Tags["gen_ai.request.model"]);
            Assert.Equal("openai", m.Tags["gen_ai.provider.name"]);
            Assert.Equal("127.0.0.1", m.Tags["server.address"]);
            Assert.Equal(_server.Port, m.Tags["server.port"]);
            Assert.InRange(m.Value, 0, 10);
        }
        Assert.Single(operations, m => m.ContainsTags("error.type") && (string?)m.Tags["error.type"] == "429");
        Assert.Single(operations, m => !m.ContainsTags("error.type"));

        // gen_ai.client.token.usage: {token}, input and output of the success.
        Assert.Equal("{token}", tokens.Instrument!.Unit);
        var usage = tokens.GetMeasurementSnapshot();
        Assert.Equal(2, usage.Count);
        Assert.Equal(12, Assert.Single(usage, m => (string?)m.Tags["gen_ai.token.type"] == "input").Value);
        Assert.Equal(3, Assert.Single(usage, m => (string?)m.Tags["gen_ai.token.type"] == "output").Value);
        Assert.All(usage, m => Assert.Equal("gpt-4o-mini", m.Tags["gen_ai.request.model"]));

        // The throttle's own: a queue wait per attempt in seconds; the old names still there with their tags.
        Assert.Equal("s", queueWait.Instrument!.Unit);
        Assert.Equal(2, queueWait.GetMeasurementSnapshot().Count);
        Assert.All(queueWait.GetMeasurementSnapshot(), m => Assert.Equal("gpt-metrics", m.Tags["model"]));
        Assert.Equal(["200", "429"], attempts.GetMeasurementSnapshot().Select(m => (string)m.Tags["status"]!).Order());
        Assert.All(attempts.GetMeasurementSnapshot(), m => Assert.Equal("gpt-metrics", m.Tags["model"]));
        Assert.Equal("ms", legacyDuration.Instrument!.Unit);
        Assert.Contains("Deprecated", legacyDuration.Instrument.Description);
        Assert.Equal(2, legacyDuration.GetMeasurementSnapshot().Count);
        // pause-on-retry-after = model: the 429's retry-after paused the model once.
        Assert.Contains(pauses.GetMeasurementSnapshot(), m => (string?)m.Tags["model"] == "gpt-metrics" && m.Tags["emptied"] is false);
        Assert.Contains(rateChanges.GetMeasurementSnapshot(), m => (string?)m.Tags["model"] == "gpt-metrics" && m.Tags.ContainsKey("reason"));
        rate.RecordObservableInstruments();
        burst.RecordObservableInstruments();
        Assert.Contains(rate.GetMeasurementSnapshot(), m => (string?)m.Tags["model"] == "gpt-metrics" && m.Value > 0);
        Assert.Contains(burst.GetMeasurementSnapshot(), m => (string?)m.Tags["model"] == "gpt-metrics" && m.Value >= 1);
        Assert.Equal("{request}/s", rate.Instrument!.Unit);
    }
}
