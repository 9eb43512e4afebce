using System.Collections.Concurrent;
using ActorThrottle.Diagnostics;
using ActorThrottle.Messages;
using ActorThrottle.Simulator;
using ActorThrottle.Tests.Support;
using Akka.Actor;
using Serilog;
using SimModel = ActorThrottle.Simulator.ModelSettings;

namespace ActorThrottle.Tests.Reliability;

/// <summary>
/// A simulator on loopback and an engine (real OpenAI backend) pointed at it, in their own actor system.
/// Replies go to a <see cref="ReplyCollector"/> so a duplicate answer would be counted, not swallowed by an Ask.
/// </summary>
internal sealed class SimulatorHarness : IAsyncDisposable
{
    private SimulatorHarness(SimulatedProvider simulator, ActorSystem system, ActorThrottleEngine engine, ActorThrottleMetrics metrics,
        IActorRef collector, ConcurrentDictionary<string, ConcurrentQueue<ChatReply>> replies)
    {
        Simulator = simulator;
        System = system;
        Engine = engine;
        Metrics = metrics;
        Collector = collector;
        Replies = replies;
    }

    public SimulatedProvider Simulator { get; }
    public ActorSystem System { get; }
    public ActorThrottleEngine Engine { get; }
    public ActorThrottleMetrics Metrics { get; }
    public IActorRef Collector { get; }
    public ConcurrentDictionary<string, ConcurrentQueue<ChatReply>> Replies { get; }

    /// <summary>Starts the simulator with <paramref name="models"/>, then an engine with <paramref name="engineHocon"/> over it.</summary>
    public static async Task<SimulatorHarness> StartAsync(
        IReadOnlyDictionary<string, SimModel> models,
        string engineHocon,
        ILogger? logger = null,
        string? simulatorKey = null,
        string? engineKey = null,
        string akkaConfig = "akka.loglevel = WARNING")
    {
        var simulator = await SimulatedProvider.StartNewAsync(new SimulatorOptions
        {
            Models = models,
            ApiKey = simulatorKey,
            DefaultModel = new SimModel { RequestsPerSecond = 5000 },
        });
        var system = ActorSystem.Create("reliability-" + Guid.NewGuid().ToString("N")[..8], akkaConfig);
        var metrics = new ActorThrottleMetrics();
        // No engine key: the simulator is an unauthenticated local server, said so (a keyless model is a start-up error).
        var keyLine = engineKey is null ? "actor-throttle.allow-unauthenticated = on" : $"actor-throttle.api-key = \"{engineKey}\"";
        var settings = TestConfig.Settings($$"""
            {{engineHocon}}
            {{keyLine}}
            actor-throttle.endpoint = "{{simulator.ApiBaseUrl}}"
            """);
        var engine = ActorThrottleEngine.Start(system, settings, new ThrottleEnvironment
        {
            Metrics = metrics,
            RandomFor = model => new Random(StableHash(model)),
            Logger = logger ?? new LoggerConfiguration().CreateLogger(),
        });
        var (collector, replies) = ReplyCollector.Start(system);
        return new SimulatorHarness(simulator, system, engine, metrics, collector, replies);
    }

    /// <summary>
    /// Sends a few hundred requests to a fault-free model "warm-up" and waits for them: JIT, connection pool and thread
    /// pool are then warm, so the measured run does not start with a stall that turns into 200 ms timeouts.
    /// </summary>
    public static async Task WarmUpAsync(SimulatorHarness h, int count = 300)
    {
        var warm = Enumerable.Range(0, count)
            .Select(i => h.Engine.CompleteAsync(new ChatRequest("warm-up", [ChatMessage.User("warm " + i)]) { MaxTokens = 16 }))
            .ToList();
        await Task.WhenAll(warm).WaitAsync(TimeSpan.FromSeconds(60));
    }

    public void Send(ChatRequest request) => Engine.Router.Tell(request, Collector);

    /// <summary>Waits (bounded) until <paramref name="count"/> distinct ids have a reply, then a little more so a late duplicate would show.</summary>
    public async Task WaitForRepliesAsync(int count, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (Replies.Count < count && DateTime.UtcNow < until)
        {
            await Task.Delay(50);
        }
        await Task.Delay(500);
    }

    public static int StableHash(string s)
    {
        unchecked
        {
            var h = 17;
            foreach (var c in s)
            {
                h = h * 31 + c;
            }
            return h;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await System.Terminate().WaitAsync(TimeSpan.FromSeconds(30));
        Metrics.Dispose();
        await Simulator.DisposeAsync();
    }
}
