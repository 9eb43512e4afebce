using System.Diagnostics;
using ActorThrottle.Hosting;
using ActorThrottle.Messages;
using ActorThrottle.Tests.Backend;
using Akka.Actor;
using Akka.Event;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Xunit;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace ActorThrottle.Tests.Hosting;

/// <summary>
/// In a Generic Host (xunit 2, no Akka.Hosting.TestKit) the engine's events and Akka's own logs reach the host's
/// <see cref="ILoggerFactory"/>: an in-memory provider sees the per-attempt event with its properties and the
/// warning of a 401 naming the URL called, never the key.
/// </summary>
[Collection(LoopbackCollection.Name)]
public sealed class HostLoggingSpec : IAsyncLifetime
{
    private const string Key = "sk-host-SECRET-4242";
    private static readonly ActivitySource Caller = new("ActorThrottle.Tests.HostCaller");
    private ScriptedHttpServer _server = null!;

    public async Task InitializeAsync() => _server = await ScriptedHttpServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task The_per_attempt_event_akkas_logs_and_a_401_warning_go_to_the_hosts_logger_factory()
    {
        _server.Respond(request => request.Body.Contains("\"m401\"")
            ? ScriptedResponse.Error(401, "invalid_api_key", $"Incorrect API key provided: {request.Header("Authorization")}")
            : ScriptedResponse.Completion("fine", promptTokens: 7, completionTokens: 2));
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "ActorThrottle.Tests.HostCaller",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        using var host = Host.CreateDefaultBuilder()
            .ConfigureLogging(logging => logging.ClearProviders().AddFakeLogging().SetMinimumLevel(LogLevel.Trace))
            .ConfigureServices(services =>
            {
                services.AddAkka("host-logging", akka => akka.WithActorThrottle(o =>
                {
                    o.Endpoint = _server.V1.ToString();
                    o.ApiKey = Key;
                }));
                services.AddActorThrottleClient();
            })
            .Build();
        await host.StartAsync();
        ActivityTraceId traceId;
        try
        {
            var client = host.Services.GetRequiredService<ActorThrottleClient>();
            using (var caller = Caller.StartActivity("caller")!)
            {
                traceId = caller.TraceId;
                Assert.IsType<ChatSuccess>(await client.CompleteAsync(new ChatRequest("ok-model", [ChatMessage.User("hi")]) { RequestId = "ok-1" }).WaitAsync(TimeSpan.FromSeconds(20)));
            }
            var denied = Assert.IsType<ChatFailure>(await client.CompleteAsync(new ChatRequest("m401", [ChatMessage.User("hi")]) { RequestId = "denied-1" }).WaitAsync(TimeSpan.FromSeconds(20)));
            Assert.Equal(FailureReason.Permanent, denied.Reason);
            host.Services.GetRequiredService<ActorSystem>().Log.Info("marker from Akka's own log");
            for (var i = 0; i < 100 && !host.Services.GetFakeLogCollector().GetSnapshot().Any(r => r.Message.Contains("marker from Akka")); i++)
            {
                await Task.Delay(20);
            }
        }
        finally
        {
            await host.StopAsync();
        }

        var records = host.Services.GetFakeLogCollector().GetSnapshot();
        // The per-attempt event, with its documented properties and the caller's trace id.
        var attempt = Assert.Single(records, r => r.Message.StartsWith("Attempt 1 of ok-1 to http://127.0.0.1:", StringComparison.Ordinal));
        Assert.Equal(LogLevel.Debug, attempt.Level);
        Assert.StartsWith("ActorThrottle.", attempt.Category);
        var state = attempt.StructuredState!.ToDictionary(p => p.Key, p => p.Value);
        foreach (var property in new[] { "Route", "Model", "Status", "LatencyMs", "Attempt", "Tokens", "Burst", "Rate", "RequestId", "TraceId", "SpanId", "{OriginalFormat}" })
        {
            Assert.True(state.ContainsKey(property), $"missing {property}");
        }
        Assert.Equal("ok-model", state["Model"]);
        Assert.Equal("200", state["Status"]);
        Assert.Equal("9", state["Tokens"]);
        Assert.Equal(traceId.ToHexString(), state["TraceId"]);
        Assert.StartsWith("Attempt {Attempt} of {RequestId}", state["{OriginalFormat}"]);

        // The 401: a warning naming the URL called.
        var warning = Assert.Single(records, r => r.Level == LogLevel.Warning && r.Message.StartsWith("Attempt 1 of denied-1 ", StringComparison.Ordinal));
        Assert.Contains($"POST http://127.0.0.1:{_server.Port}/v1/chat/completions answered 401", warning.Message);

        // Akka's own logs go to the same place.
        Assert.Contains(records, r => r.Message.Contains("marker from Akka's own log"));
        // And the key nowhere.
        Assert.All(records, r =>
        {
            Assert.DoesNotContain("SECRET", r.Message);
            Assert.All(r.StructuredState ?? [], p => Assert.DoesNotContain("SECRET", p.Value ?? ""));
        });
    }
}
