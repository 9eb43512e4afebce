using System.Collections.Concurrent;
using System.Globalization;
using ActorThrottle.Diagnostics;
using ActorThrottle.Messages;
using ActorThrottle.Tests.Support;
using Akka.Actor;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Serilog;
using Xunit;
using Xunit.Abstractions;
using S = ActorThrottle.Simulator;

namespace ActorThrottle.Tests.Integration;

/// <summary>
/// One integration run: the in-process simulator on loopback, an actor system, and the engine with its default
/// (OpenAI SDK) backend pointed at the simulator. Replies are collected by an actor so a duplicate answer would
/// be counted, not swallowed by an <c>Ask</c>.
/// </summary>
internal sealed class SimulatorRun : IAsyncDisposable
{
    public const string ApiKey = "sk-integration-test";

    private readonly MetricCollector<long> _successes;
    private readonly MetricCollector<long> _rateLimited;
    private readonly ActorThrottleMetrics _metrics;
    private readonly IActorRef _collector;
    private readonly ITestOutputHelper? _output;

    private SimulatorRun(S.SimulatedProvider sim, ActorSystem system, ActorThrottleEngine engine, ActorThrottleMetrics metrics, ITestOutputHelper? output)
    {
        Sim = sim;
        System = system;
        Engine = engine;
        _metrics = metrics;
        _output = output;
        _successes = new MetricCollector<long>(metrics.Meter, "actor_throttle.successes");
        _rateLimited = new MetricCollector<long>(metrics.Meter, "actor_throttle.rate_limited");
        (_collector, Replies) = ReplyCollector.Start(system);
    }

    public S.SimulatedProvider Sim { get; }

    public ActorSystem System { get; }

    public ActorThrottleEngine Engine { get; }

    /// <summary>Every reply received, by request id (a request answered twice has two entries).</summary>
    public ConcurrentDictionary<string, ConcurrentQueue<ChatReply>> Replies { get; }

    /// <summary>Successes the engine counted on its meter, for one model.</summary>
    public long EngineSuccesses(string model) =>
        _successes.GetMeasurementSnapshot().Where(m => Equals(m.Tags["model"], model)).Sum(m => m.Value);

    /// <summary>429 rate_limit_exceeded attempts the engine counted on its meter, for one model.</summary>
    public long EngineRateLimited(string model) =>
        _rateLimited.GetMeasurementSnapshot().Where(m => Equals(m.Tags["model"], model)).Sum(m => m.Value);

    /// <summary>
    /// Starts the simulator with <paramref name="models"/>, then the engine with <paramref name="hocon"/> (over the
    /// fast test defaults) whose endpoint is the simulator. Retry jitter is seeded per model.
    /// </summary>
    public static async Task<SimulatorRun> StartAsync(IReadOnlyDictionary<string, S.ModelSettings> models, string hocon, ITestOutputHelper? output = null)
    {
        var sim = await S.SimulatedProvider.StartNewAsync(new S.SimulatorOptions
        {
            ApiKey = ApiKey,
            Models = models,
            UnknownModels = S.UnknownModelPolicy.Reject,
        });
        var system = ActorSystem.Create("integration", "akka.loglevel = WARNING\nakka.stdout-loglevel = WARNING");
        var settings = TestConfig.Settings($$"""
            {{hocon}}
            actor-throttle {
              endpoint = "{{sim.ApiBaseUrl}}"
              api-key = "{{ApiKey}}"
            }
            """);
        var metrics = new ActorThrottleMetrics();
        var engine = ActorThrottleEngine.Start(system, settings, new ThrottleEnvironment
        {
            RandomFor = model => new Random(StableSeed(model)),
            Logger = new LoggerConfiguration().CreateLogger(),
            Metrics = metrics,
        });
        return new SimulatorRun(sim, system, engine, metrics, output);
    }

    /// <summary>Sends <paramref name="count"/> requests for <paramref name="model"/> with ids <c>prefix-0..</c>; replies go to the collector.</summary>
    public IReadOnlyList<string> Send(string model, int count, string prefix)
    {
        var ids = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            var id = prefix + "-" + i.ToString(CultureInfo.InvariantCulture);
            ids.Add(id);
            Engine.Router.Tell(new ChatRequest(model, [ChatMessage.User("Say hello number " + i.ToString(CultureInfo.InvariantCulture))]) { RequestId = id, MaxTokens = 16 }, _collector);
        }
        return ids;
    }

    /// <summary>
    /// Sends <paramref name="count"/> requests at about <paramref name="perSecond"/> (in slices every 10 ms), so the
    /// offered load lasts a while instead of arriving at once.
    /// </summary>
    public async Task<IReadOnlyList<string>> SendPacedAsync(string model, int count, double perSecond, string prefix, Action<TimeSpan>? onTick = null)
    {
        var ids = new List<string>(count);
        var started = TimeProvider.System.GetTimestamp();
        var sent = 0;
        while (sent < count)
        {
            var elapsed = TimeProvider.System.GetElapsedTime(started);
            onTick?.Invoke(elapsed);
            var due = Math.Min(count, (int)Math.Ceiling(elapsed.TotalSeconds * perSecond) + 1);
            for (; sent < due; sent++)
            {
                var id = prefix + "-" + sent.ToString(CultureInfo.InvariantCulture);
                ids.Add(id);
                Engine.Router.Tell(new ChatRequest(model, [ChatMessage.User("Say hello number " + sent.ToString(CultureInfo.InvariantCulture))]) { RequestId = id, MaxTokens = 16 }, _collector);
            }
            await Task.Delay(10);
        }
        return ids;
    }

    /// <summary>Waits until every id in <paramref name="ids"/> has a reply (generous bound: it only stops a hung test).</summary>
    public async Task AwaitAnsweredAsync(IEnumerable<string> ids, TimeSpan? within = null)
    {
        var wanted = ids.ToList();
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(30));
        while (wanted.Any(id => !Replies.ContainsKey(id)))
        {
            if (DateTime.UtcNow > deadline)
            {
                var missing = wanted.Count(id => !Replies.ContainsKey(id));
                Assert.Fail($"{missing} of {wanted.Count} requests had no reply in time.");
            }
            await Task.Delay(20);
        }
        // A duplicate answer would arrive within this time.
        await Task.Delay(200);
    }

    /// <summary>Asserts each id got exactly one reply and returns the replies by id.</summary>
    public IReadOnlyDictionary<string, ChatReply> AssertAnsweredExactlyOnce(IReadOnlyCollection<string> ids)
    {
        var result = new Dictionary<string, ChatReply>(StringComparer.Ordinal);
        foreach (var id in ids)
        {
            Assert.True(Replies.TryGetValue(id, out var answers), $"{id} was never answered");
            Assert.True(answers!.Count == 1, $"{id} was answered {answers.Count} times");
            answers.TryPeek(out var reply);
            result[id] = reply!;
        }
        return result;
    }

    /// <summary>Seconds since the simulator's statistics epoch (the time base of its per-second counters).</summary>
    public double SimSecondsNow() => Sim.GetStats().Elapsed.TotalSeconds;

    /// <summary>The simulator's counters for <paramref name="model"/> summed over whole seconds in [from, to).</summary>
    public S.StatsCounters SecondsBetween(string model, long from, long to) =>
        Sim.GetStats().For(model).PerSecond
            .Where(s => s.Second >= from && s.Second < to)
            .Aggregate(S.StatsCounters.Zero, (sum, s) => sum.Add(s.Counters));

    /// <summary>
    /// Splits the run of <paramref name="model"/> into halves by whole seconds, from the first to the last second
    /// in which the simulator saw a request at or after second <paramref name="from"/>: returns the first second of the later half.
    /// </summary>
    public long LaterHalfStart(string model, long from = 0)
    {
        var active = Sim.GetStats().For(model).PerSecond.Where(s => s.Second >= from).Select(s => s.Second).ToList();
        Assert.NotEmpty(active);
        var (first, last) = (active.Min(), active.Max());
        return first + (last - first + 1) / 2;
    }

    /// <summary>Writes the simulator's per-second counters for <paramref name="model"/> to the test output.</summary>
    public void Dump(string model)
    {
        if (_output is null)
        {
            return;
        }
        foreach (var s in Sim.GetStats().For(model).PerSecond)
        {
            _output.WriteLine($"{model} s{s.Second}: accepted {s.Counters.Accepted}, 429 {s.Counters.RateLimited}, quota {s.Counters.QuotaExceeded}, 5xx {s.Counters.ServerErrors}");
        }
    }

    public void Log(string line) => _output?.WriteLine(line);

    public async ValueTask DisposeAsync()
    {
        await System.Terminate();
        await Sim.DisposeAsync();
        _successes.Dispose();
        _rateLimited.Dispose();
        _metrics.Dispose();
    }

    private static int StableSeed(string model)
    {
        var seed = 17;
        foreach (var c in model)
        {
            seed = unchecked(seed * 31 + c);
        }
        return seed;
    }
}
