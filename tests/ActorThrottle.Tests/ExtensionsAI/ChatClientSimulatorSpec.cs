using ActorThrottle.Extensions.AI;
using ActorThrottle.Hosting;
using ActorThrottle.Messages;
using ActorThrottle.Tests.Backend;
using ActorThrottle.Tests.Support;
using Akka.Hosting;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;
using S = ActorThrottle.Simulator;

namespace ActorThrottle.Tests.ExtensionsAI;

/// <summary>
/// The adapter end to end: a Generic Host with Akka.Hosting, <c>AddActorThrottleChatClient</c> in a
/// <see cref="ChatClientBuilder"/> pipeline with MEAI's own middleware, the default (OpenAI SDK) backend, and the
/// in-process simulator on loopback.
/// </summary>
[Collection(LoopbackCollection.Name)]
public sealed class ChatClientSimulatorSpec : IAsyncLifetime
{
    private const string Key = "sk-meai-test";
    private const string WrongKey = "sk-wrong-SECRET-123";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private readonly CountingChatClient.Counter _counter = new();
    private S.SimulatedProvider _sim = null!;
    private IHost _host = null!;

    public async Task InitializeAsync()
    {
        _sim = await S.SimulatedProvider.StartNewAsync(new S.SimulatorOptions
        {
            ApiKey = Key,
            DefaultModel = new S.ModelSettings { RequestsPerSecond = 1000, CompletionTokens = 16 },
        });
        _host = Host.CreateDefaultBuilder()
            .ConfigureServices(services =>
            {
                services.AddAkka("meai-spec", builder => builder
                    .AddHocon("akka.loglevel = WARNING", HoconAddMode.Prepend)
                    .WithActorThrottle(o =>
                    {
                        o.Hocon = TestConfig.FastDefaults;
                        o.Endpoint = _sim.ApiBaseUrl.ToString();
                        o.ApiKey = Key;
                        o.Model("locked-model", m => m.ApiKey = WrongKey);
                        o.Environment = new ThrottleEnvironment { Logger = new Serilog.LoggerConfiguration().CreateLogger() };
                    }));
                services.AddActorThrottleClient();
                services.AddActorThrottleChatClient("gpt-4o-mini")
                    .UseFunctionInvocation()
                    .Use(inner => new CountingChatClient(inner, _counter));
            })
            .Build();
        await _host.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        await _sim.DisposeAsync();
    }

    [Fact]
    public async Task A_pipeline_from_the_container_answers_through_the_throttle_with_usage_finish_reason_and_model()
    {
        var chat = _host.Services.GetRequiredService<IChatClient>();
        Assert.IsNotType<ActorThrottleChatClient>(chat);                      // the middleware pipeline, ours at its end

        var response = await chat.GetResponseAsync("Say hello.").WaitAsync(Bound);
        Assert.Equal("gpt-4o-mini", response.ModelId);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal(16, response.Usage!.OutputTokenCount);
        Assert.True(response.Usage.InputTokenCount > 0);
        Assert.Equal(response.Usage.InputTokenCount + 16, response.Usage.TotalTokenCount);
        Assert.StartsWith("chatcmpl-sim", response.ResponseId);
        Assert.False(string.IsNullOrWhiteSpace(response.Text));

        // max_tokens reaches the provider: it truncates and says so.
        var truncated = await chat.GetResponseAsync("Say hello.", new ChatOptions { ModelId = "gpt-4.1-nano", MaxOutputTokens = 4 }).WaitAsync(Bound);
        Assert.Equal("gpt-4.1-nano", truncated.ModelId);
        Assert.Equal(ChatFinishReason.Length, truncated.FinishReason);
        Assert.Equal(4, truncated.Usage!.OutputTokenCount);

        // Streaming through the same pipeline: one update, same facts.
        var streamed = await chat.GetStreamingResponseAsync("Say hello.", new ChatOptions().AsBatch()).ToChatResponseAsync().WaitAsync(Bound);
        Assert.Equal(ChatFinishReason.Stop, streamed.FinishReason);
        Assert.Equal(16, streamed.Usage!.OutputTokenCount);

        Assert.Equal(2, _counter.Calls);
        Assert.Equal(1, _counter.StreamingCalls);
        var stats = _sim.GetStats();
        Assert.Equal(2, stats.For("gpt-4o-mini").Totals.Accepted);
        Assert.Equal(1, stats.For("gpt-4.1-nano").Totals.Accepted);

        // The engine saw the requests: the models' throttles exist.
        var engine = _host.Services.GetRequiredService<ActorThrottleClient>();
        Assert.Same(engine, chat.GetService<ActorThrottleClient>());
        Assert.Equal("gpt-4o-mini", chat.GetService<ChatClientMetadata>()!.DefaultModelId);
        Assert.Equal(1000, (await engine.GetStatusAsync("gpt-4o-mini")).Rate);
    }

    [Fact]
    public async Task UseFunctionInvocation_runs_a_real_function_through_the_throttle_against_the_simulator()
    {
        var chat = _host.Services.GetRequiredService<IChatClient>();
        var invoked = 0;
        var now = AIFunctionFactory.Create(() =>
        {
            Interlocked.Increment(ref invoked);
            return "12:00";
        }, "now", "The current time.");
        var options = new ChatOptions { Tools = [now] };

        // The simulator calls the first tool while the conversation does not end with a tool result, then answers text.
        var response = await chat.GetResponseAsync("What time is it?", options).WaitAsync(Bound);
        Assert.Equal(1, invoked);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.False(string.IsNullOrWhiteSpace(response.Text));
        var contents = response.Messages.SelectMany(m => m.Contents).ToList();
        var call = Assert.Single(contents.OfType<FunctionCallContent>());
        Assert.Equal("now", call.Name);
        Assert.StartsWith("call_sim", call.CallId);
        Assert.Equal("12:00", Assert.Single(contents.OfType<FunctionResultContent>(), r => r.CallId == call.CallId).Result?.ToString());
        Assert.Equal(2, _counter.Calls);                                         // the call, then the answer: both through the throttle

        // Streaming: the call arrives in the stream's last update, the function runs, the answer streams.
        var streamed = await chat.GetStreamingResponseAsync("What time is it now?", options).ToChatResponseAsync().WaitAsync(Bound);
        Assert.Equal(2, invoked);
        Assert.Equal(ChatFinishReason.Stop, streamed.FinishReason);
        Assert.Single(streamed.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal(2, _counter.StreamingCalls);

        var totals = _sim.GetStats().For("gpt-4o-mini").Totals;
        Assert.Equal(4, totals.Accepted);
        Assert.Equal(2, totals.Streamed);
    }

    [Fact]
    public async Task A_provider_refusal_becomes_a_typed_exception_without_the_key()
    {
        var chat = _host.Services.GetRequiredService<IChatClient>();
        var error = await Assert.ThrowsAsync<ActorThrottleRequestException>(
            () => chat.GetResponseAsync("hi", new ChatOptions { ModelId = "locked-model" }).WaitAsync(Bound));
        Assert.Equal(FailureReason.Permanent, error.Reason);
        Assert.Equal(401, error.StatusCode);
        Assert.Equal(1, error.Attempts);
        Assert.DoesNotContain("SECRET", error.ToString());
        Assert.DoesNotContain("SECRET", error.Failure.ToString());
    }

    /// <summary>A custom middleware, as users write them: counts what passes through.</summary>
    private sealed class CountingChatClient(IChatClient inner, CountingChatClient.Counter counter) : DelegatingChatClient(inner)
    {
        public sealed class Counter
        {
            public int Calls;
            public int StreamingCalls;
        }

        public override Task<ChatResponse> GetResponseAsync(IEnumerable<Microsoft.Extensions.AI.ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref counter.Calls);
            return base.GetResponseAsync(messages, options, cancellationToken);
        }

        public override IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<Microsoft.Extensions.AI.ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref counter.StreamingCalls);
            return base.GetStreamingResponseAsync(messages, options, cancellationToken);
        }
    }
}
