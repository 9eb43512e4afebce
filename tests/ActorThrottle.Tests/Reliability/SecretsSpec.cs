using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using ActorThrottle.Diagnostics;
using ActorThrottle.Messages;
using ActorThrottle.Tests.Backend;
using ActorThrottle.Tests.Support;
using Akka.Actor;
using Serilog;
using Xunit;

namespace ActorThrottle.Tests.Reliability;

/// <summary>
/// Issue 5, item 7: a recognisable key through every failure path (5xx, resets, timeouts, 429s, 401s, outage, shutdown)
/// with all Serilog output (ours and Akka's through Akka.Logger.Serilog), every reply message and every metric tag
/// captured: the key occurs nowhere, nor does any long piece of it that a provider echoed back. OpenAI's own mask
/// (<c>sk-...WXYZ</c>, four characters) may pass.
/// </summary>
[Collection(LoopbackCollection.Name)]
public sealed class SecretsSpec
{
    private const string Key = "sk-proj-RELIAB1L1TYk3y0123456789abcdefQRSTUVWXYZ";
    private const string SecretPart = "RELIAB1L1TYk3y0123456789abcdef";

    [Fact]
    public async Task The_key_and_long_echoes_of_it_appear_in_no_log_reply_exception_or_metric_tag()
    {
        await using var server = await ScriptedHttpServer.StartAsync();
        server.Respond(request =>
        {
            var auth = request.Header("Authorization") ?? "";
            var sent = auth.StartsWith("Bearer ") ? auth[7..] : auth;
            var body = request.Body;
            string Model() { var s = body.IndexOf("\"model\":\"") + 9; return body[s..body.IndexOf('"', s)]; }
            return Model() switch
            {
                "echo-full" => ScriptedResponse.Error(401, "invalid_api_key", $"Incorrect API key provided: {sent}."),
                "echo-prefix" => ScriptedResponse.Error(401, "invalid_api_key", $"Incorrect API key provided: {sent[..30]}****************{sent[^4..]}."),
                "echo-middle" => ScriptedResponse.Error(403, null, $"key fragment {sent[10..26]} is not allowed"),
                "echo-masked" => ScriptedResponse.Error(401, "invalid_api_key", $"Incorrect API key provided: sk-...{sent[^4..]}."),
                "echo-header" => ScriptedResponse.Error(503, null, $"overloaded; your Authorization: {auth}"),
                "echo-text" => new ScriptedResponse(502, $"bad gateway for {auth}") { ContentType = "text/plain" },
                "echo-429" => ScriptedResponse.Error(429, "rate_limit_exceeded", $"Rate limit for key {sent}").WithHeader("retry-after-ms", "2"),
                "reset" => ScriptedResponse.AbortConnection(),
                "hang" => ScriptedResponse.Completion() with { Delay = TimeSpan.FromSeconds(2) },
                _ => ScriptedResponse.Completion("fine"),
            };
        });

        var sink = new CapturingSink();
        var logger = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(sink).CreateLogger();
        var previous = Log.Logger;
        Log.Logger = logger;
        var tags = new ConcurrentQueue<string>();
        using var metrics = new ActorThrottleMetrics();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter, metrics.Meter))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        void Record(Instrument i, ReadOnlySpan<KeyValuePair<string, object?>> t)
        {
            foreach (var kv in t)
            {
                tags.Enqueue($"{i.Name} {kv.Key}={kv.Value}");
            }
        }
        listener.SetMeasurementEventCallback<long>((i, _, t, _) => Record(i, t));
        listener.SetMeasurementEventCallback<double>((i, _, t, _) => Record(i, t));
        listener.Start();

        var system = ActorSystem.Create("secrets", """
            akka.loglevel = DEBUG
            akka.loggers = ["Akka.Logger.Serilog.SerilogLogger, Akka.Logger.Serilog"]
            """);
        var replies = new List<ChatReply>();
        var thrown = new List<Exception>();
        string[] models = ["echo-full", "echo-prefix", "echo-middle", "echo-masked", "echo-header", "echo-text", "echo-429", "reset", "hang", "ok"];
        try
        {
            var settings = TestConfig.Settings($$"""
                actor-throttle {
                  endpoint = "{{server.V1}}"
                  api-key = "{{Key}}"
                  request-timeout = 200ms
                  shutdown-grace = 500ms
                  defaults.retry { max-attempts = 3, base-delay = 1ms, max-delay = 5ms }
                  models { down { endpoint = "http://127.0.0.1:{{ScriptedHttpServer.ClosedPort()}}/v1", api-key = "{{Key}}" } }
                }
                """);
            // Settings and their string forms are printed by hosts: the key must not be in them either.
            Assert.DoesNotContain(SecretPart, settings.ToString());
            var engine = ActorThrottleEngine.Start(system, settings, new ThrottleEnvironment { Logger = logger, Metrics = metrics, RandomFor = _ => new Random(3) });
            var asks = models.SelectMany(m => Enumerable.Range(0, 5).Select(i =>
                engine.CompleteAsync(new ChatRequest(m, [ChatMessage.User("hi")]) { RequestId = $"{m}-{i}" }))).ToList();
            foreach (var ask in asks)
            {
                try
                {
                    replies.Add(await ask.WaitAsync(TimeSpan.FromSeconds(20)));
                }
                catch (Exception e)
                {
                    thrown.Add(e);
                }
            }
            // Outage: nobody listens on the endpoint of this model.
            replies.Add(await engine.CompleteAsync(new ChatRequest("down", [ChatMessage.User("hi")])).WaitAsync(TimeSpan.FromSeconds(20)));
            // Shutdown with work in flight.
            var pending = Enumerable.Range(0, 20).Select(i => engine.CompleteAsync(new ChatRequest("hang", [ChatMessage.User("hi")]))).ToList();
            await CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClrExitReason.Instance).WaitAsync(TimeSpan.FromSeconds(30));
            replies.AddRange(await Task.WhenAll(pending).WaitAsync(TimeSpan.FromSeconds(10)));
        }
        finally
        {
            await system.Terminate();
            listener.RecordObservableInstruments();
            Log.Logger = previous;
        }

        Assert.Empty(thrown);
        Assert.Equal(models.Length * 5 + 21, replies.Count);
        var everything = string.Join("\n", sink.AllText(), string.Join("\n", replies.Select(r => r.ToString())), string.Join("\n", tags),
            string.Join("\n", thrown.Select(e => e.ToString())));
        Assert.True(sink.Events.Count > 50, $"only {sink.Events.Count} log events");
        Assert.Contains(sink.Events, e => e.Properties.TryGetValue("SourceContext", out var c) && c.ToString().Contains("Akka"));
        Assert.NotEmpty(tags);

        // The key, and any piece of its secret part of 8 characters or more, occurs nowhere.
        Assert.DoesNotContain(Key, everything);
        for (var i = 0; i + 8 <= SecretPart.Length; i++)
        {
            var piece = SecretPart.Substring(i, 8);
            Assert.False(everything.Contains(piece, StringComparison.Ordinal), $"a piece of the key leaked: {piece}");
        }
        // The echoes were redacted, not dropped: the replies still say what the provider said.
        var byModel = replies.Where(r => r.RequestId.Contains('-') && models.Any(m => r.RequestId.StartsWith(m + "-"))).ToLookup(r => r.RequestId[..r.RequestId.LastIndexOf('-')]);
        Assert.Contains(ChatResponseParserRedacted, ((ChatFailure)byModel["echo-full"].First()).Message);
        Assert.Contains("Incorrect API key provided", ((ChatFailure)byModel["echo-prefix"].First()).Message);
        Assert.Contains("QRSTUVWXYZ"[^4..], ((ChatFailure)byModel["echo-masked"].First()).Message);
    }

    private const string ChatResponseParserRedacted = ActorThrottle.Backend.ChatResponseParser.Redacted;
}
