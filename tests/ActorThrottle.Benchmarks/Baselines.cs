using System.ClientModel;
using System.ClientModel.Primitives;
using System.Diagnostics;
using System.Globalization;
using System.Threading.RateLimiting;
using ActorThrottle.Configuration;
using ActorThrottle.Messages;
using ActorThrottle.Simulator;
using Akka.Actor;
using Akka.Configuration;
using OpenAI;
using OpenAI.Chat;
using Polly;
using Polly.Retry;
using AtChatMessage = ActorThrottle.Messages.ChatMessage;
using SdkChatMessage = OpenAI.Chat.ChatMessage;

namespace ActorThrottle.Benchmarks;

/// <summary>What happened to one request of a backlog, in seconds from the run's start.</summary>
public sealed class RequestRecord(WorkRequest work)
{
    public WorkRequest Work { get; } = work;
    public double Submit { get; set; }
    /// <summary>Start of the first attempt (after any client-side queue: semaphore, limiter, throttle); -1 if none.</summary>
    public double FirstAttempt { get; set; } = -1;
    public double End { get; set; } = -1;
    /// <summary>Success, a failure reason, or Unfinished (no answer by the cap).</summary>
    public string Outcome { get; set; } = "Unfinished";
    public int ClientAttempts { get; set; }
    public bool Succeeded => Outcome == "Success";
}

/// <summary>ActorThrottle's burst and rate as polled during a run.</summary>
public sealed record EngineSample(double T, string Model, int Burst, double Rate, int Pending);

public sealed class RunContext
{
    public required Scenario Scenario { get; init; }
    public required SimulatedProvider Simulator { get; init; }
    public required IReadOnlyList<RequestRecord> Records { get; init; }
    public required CancellationToken Cap { get; init; }
    public required Stopwatch Clock { get; init; }
    public List<EngineSample> EngineSeries { get; } = [];
    public double Now => Clock.Elapsed.TotalSeconds;

    /// <summary>Waits for every task, but no longer than 5 s after the cap (a request stuck past it stays Unfinished).</summary>
    public async Task WhenAllOrCap(IEnumerable<Task> tasks)
    {
        var all = Task.WhenAll(tasks.ToList());
        var limit = TimeSpan.FromSeconds(Math.Max(1, Scenario.CapSeconds + 5 - Now));
        await Task.WhenAny(all, Task.Delay(limit));
    }
}

/// <summary>A client-side approach being measured.</summary>
public abstract class Baseline
{
    public abstract string Name { get; }
    public abstract string Description { get; }
    public abstract Task RunAsync(RunContext ctx);

    public static IReadOnlyList<Baseline> All() =>
    [
        new SeedPattern(5), new SeedPattern(50), new SdkDefault(50), new PollyBaseline(),
        new ActorThrottleBaseline(tuned: false), new ActorThrottleBaseline(tuned: true),
    ];

    // One pooled HTTP stack for every SDK-based baseline (the design's advice: the default transport opens a connection per call).
    private static readonly HttpClient Http = new(new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    protected static ChatClient Client(RunContext ctx, string model, bool sdkRetries) => new(
        model,
        new ApiKeyCredential("sk-bench"),
        new OpenAIClientOptions
        {
            Endpoint = ctx.Simulator.ApiBaseUrl,
            Transport = new HttpClientPipelineTransport(Http),
            RetryPolicy = sdkRetries ? null : new ClientRetryPolicy(0),
            NetworkTimeout = TimeSpan.FromSeconds(30),
        });

    protected static IEnumerable<SdkChatMessage> Messages(WorkRequest w) => [new UserChatMessage(w.Prompt)];

    protected static ChatCompletionOptions Options(WorkRequest w) => new() { MaxOutputTokenCount = w.MaxTokens };

    protected static string Classify(Exception e) => e switch
    {
        ClientResultException { Status: 429 } => "RateLimitedExhausted",
        ClientResultException { Status: >= 500 } => "Transient",
        ClientResultException { Status: 0 } => "Transient",
        ClientResultException => "Permanent",
        AggregateException => "Transient",
        HttpRequestException or IOException or TimeoutException => "Transient",
        OperationCanceledException => "Unfinished",
        _ => "Other:" + e.GetType().Name,
    };

    /// <summary>The provider's retry-after of a 429, preferring retry-after-ms.</summary>
    protected static TimeSpan? RetryAfter(Exception e)
    {
        if (e is not ClientResultException cre || cre.GetRawResponse() is not { } response)
        {
            return null;
        }
        if (response.Headers.TryGetValue("retry-after-ms", out var ms) && double.TryParse(ms, NumberStyles.Float, CultureInfo.InvariantCulture, out var m))
        {
            return TimeSpan.FromMilliseconds(m);
        }
        if (response.Headers.TryGetValue("retry-after", out var s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var sec))
        {
            return TimeSpan.FromSeconds(sec);
        }
        return null;
    }
}

/// <summary>
/// The pattern in the provider's docs: one SemaphoreSlim(n) around a retry loop (the slot is held while sleeping);
/// up to 5 attempts; only 429s retried, after min(30 s, 1 s·2^k) + random(0..1 s) for the k-th retry (k = 0, 1, …);
/// SDK retries off. One semaphore for the whole application (shared by all models).
/// </summary>
public sealed class SeedPattern(int concurrency) : Baseline
{
    public override string Name => $"seed-{concurrency}";
    public override string Description => $"SemaphoreSlim({concurrency}) + 5 attempts, 429 backoff min(30s, 2^k s)+U(0,1s), SDK retries off";

    public override async Task RunAsync(RunContext ctx)
    {
        var gate = new SemaphoreSlim(concurrency);
        var clients = ctx.Scenario.Models.ToDictionary(m => m.Id, m => Client(ctx, m.Id, sdkRetries: false));
        var random = new Random(11);
        await ctx.WhenAllOrCap(ctx.Records.Select(r => OneAsync(r)));

        async Task OneAsync(RequestRecord r)
        {
            await Task.Yield();
            try
            {
                await gate.WaitAsync(ctx.Cap);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            try
            {
                r.FirstAttempt = ctx.Now;
                for (var k = 0; ; k++)
                {
                    r.ClientAttempts++;
                    try
                    {
                        await clients[r.Work.Model].CompleteChatAsync(Messages(r.Work), Options(r.Work), ctx.Cap);
                        r.Outcome = "Success";
                        r.End = ctx.Now;
                        return;
                    }
                    catch (ClientResultException e) when (e.Status == 429 && r.ClientAttempts < 5)
                    {
                        double jitter;
                        lock (random)
                        {
                            jitter = random.NextDouble();
                        }
                        await Task.Delay(TimeSpan.FromSeconds(Math.Min(30, Math.Pow(2, k)) + jitter), ctx.Cap);
                    }
                }
            }
            catch (Exception e)
            {
                r.Outcome = Classify(e);
                if (r.Outcome != "Unfinished")
                {
                    r.End = ctx.Now;
                }
            }
            finally
            {
                gate.Release();
            }
        }
    }
}

/// <summary>The OpenAI .NET SDK's own default retry policy, 50 concurrent calls (one SemaphoreSlim(50) for the application).</summary>
public sealed class SdkDefault(int concurrency) : Baseline
{
    public override string Name => $"sdk-{concurrency}";
    public override string Description => $"OpenAI SDK default retry policy, SemaphoreSlim({concurrency})";

    public override async Task RunAsync(RunContext ctx)
    {
        var gate = new SemaphoreSlim(concurrency);
        var clients = ctx.Scenario.Models.ToDictionary(m => m.Id, m => Client(ctx, m.Id, sdkRetries: true));
        await ctx.WhenAllOrCap(ctx.Records.Select(async r =>
        {
            await Task.Yield();
            try
            {
                await gate.WaitAsync(ctx.Cap);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            try
            {
                r.FirstAttempt = ctx.Now;
                r.ClientAttempts = 1;
                await clients[r.Work.Model].CompleteChatAsync(Messages(r.Work), Options(r.Work), ctx.Cap);
                r.Outcome = "Success";
                r.End = ctx.Now;
            }
            catch (Exception e)
            {
                r.Outcome = Classify(e);
                if (r.Outcome != "Unfinished")
                {
                    r.End = ctx.Now;
                }
            }
            finally
            {
                gate.Release();
            }
        }));
    }
}

/// <summary>
/// Polly v8 as a careful engineer builds it: retry (outer; 429 and 5xx, up to 4 retries = 5 attempts, exponential
/// backoff from 1 s with Polly's jitter, or the provider's retry-after plus up to 0.5 s of jitter when it sent one)
/// around a token-bucket rate limiter (System.Threading.RateLimiting) at the configured rate, one pipeline per model.
/// </summary>
public sealed class PollyBaseline : Baseline
{
    public override string Name => "polly";
    public override string Description => "Polly v8: retry(429/5xx, jitter, honours retry-after) around TokenBucketRateLimiter at configured rate";

    public override async Task RunAsync(RunContext ctx)
    {
        var random = new Random(13);
        var pipelines = new Dictionary<string, ResiliencePipeline>();
        var limiters = new List<RateLimiter>();
        foreach (var m in ctx.Scenario.Models)
        {
            var rate = ConfiguredRequestRate(ctx.Scenario, m);
            // Replenish every 100 ms; bucket = 100 ms of the rate (a smooth limiter; a 1 s bucket would burst harder).
            var perPeriod = Math.Max(1, (int)Math.Round(rate / 10));
            var limiter = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
            {
                TokenLimit = perPeriod,
                TokensPerPeriod = perPeriod,
                ReplenishmentPeriod = TimeSpan.FromSeconds(perPeriod / rate),
                QueueLimit = int.MaxValue,
                QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                AutoReplenishment = true,
            });
            limiters.Add(limiter);
            pipelines[m.Id] = new ResiliencePipelineBuilder()
                .AddRetry(new RetryStrategyOptions
                {
                    ShouldHandle = new PredicateBuilder()
                        .Handle<ClientResultException>(e => e.Status == 429 || e.Status >= 500 || e.Status == 0)
                        .Handle<HttpRequestException>(),
                    MaxRetryAttempts = 4,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = TimeSpan.FromSeconds(1),
                    MaxDelay = TimeSpan.FromSeconds(30),
                    DelayGenerator = args =>
                    {
                        if (args.Outcome.Exception is { } e && RetryAfter(e) is { } after)
                        {
                            double jitter;
                            lock (random)
                            {
                                jitter = random.NextDouble() * 0.5;
                            }
                            return ValueTask.FromResult<TimeSpan?>(after + TimeSpan.FromSeconds(jitter));
                        }
                        return ValueTask.FromResult<TimeSpan?>(null);
                    },
                })
                .AddRateLimiter(limiter)
                .Build();
        }
        var clients = ctx.Scenario.Models.ToDictionary(m => m.Id, m => Client(ctx, m.Id, sdkRetries: false));
        try
        {
            await ctx.WhenAllOrCap(ctx.Records.Select(async r =>
            {
                await Task.Yield();
                try
                {
                    await pipelines[r.Work.Model].ExecuteAsync(async ct =>
                    {
                        if (r.FirstAttempt < 0)
                        {
                            r.FirstAttempt = ctx.Now;
                        }
                        r.ClientAttempts++;
                        await clients[r.Work.Model].CompleteChatAsync(Messages(r.Work), Options(r.Work), ct);
                    }, ctx.Cap);
                    r.Outcome = "Success";
                    r.End = ctx.Now;
                }
                catch (Exception e)
                {
                    r.Outcome = Classify(e);
                    if (r.Outcome != "Unfinished")
                    {
                        r.End = ctx.Now;
                    }
                }
            }));
        }
        finally
        {
            foreach (var l in limiters)
            {
                l.Dispose();
            }
        }
    }

    /// <summary>Requests per second a user would give the limiter: the configured rate, or for a token limit, tokens/s over the mean request cost.</summary>
    internal static double ConfiguredRequestRate(Scenario s, ModelSpec m) =>
        s.TokenBound && m.ConfiguredTpm > 0 ? m.ConfiguredTpm / 60 / TokenCost.Mean(s) : m.ConfiguredRps;
}

/// <summary>ActorThrottle through its public API (CompleteAsync), defaults (only the limit configured) or tuned.</summary>
public sealed class ActorThrottleBaseline(bool tuned) : Baseline
{
    public override string Name => tuned ? "at-tuned" : "at-default";
    public override string Description => tuned
        ? $"ActorThrottle, tuned: {TunedKeys}"
        : "ActorThrottle, reference defaults; only requests-per-second (and tokens-per-minute) set";

    /// <summary>The keys the tuned variant sets on top of the defaults.</summary>
    public static string TunedKeys { get; set; } = "max-in-flight = 64, max-burst = 2, adapt { settle-fraction = 0.95, increase-after = 200 }";

    public override async Task RunAsync(RunContext ctx)
    {
        // A configured rate of 0 means "not configured": the keys are left out, so the reference default (auto) applies to
        // both the request and the token rate. A configured rate without a token budget says tokens-per-minute = 0 (none).
        var models = string.Join("\n", ctx.Scenario.Models.Select(m =>
            $"    \"{m.Id}\" {{ {(m.ConfiguredRps > 0 ? $"requests-per-second = {Inv(m.ConfiguredRps)}, " : "")}{(m.ConfiguredRps > 0 || m.ConfiguredTpm > 0 ? $"tokens-per-minute = {Inv(m.ConfiguredTpm)}" : "")} }}"));
        var hocon = $$"""
            actor-throttle {
              endpoint = "{{ctx.Simulator.ApiBaseUrl}}"
              api-key = "sk-bench"
              request-timeout = 30s
              defaults {
                queue-size = 100000
                {{(tuned ? TunedKeys : "")}}
              }
              models {
            {{models}}
              }
            }
            """;
        var settings = ActorThrottleSettings.Parse(hocon);
        var system = ActorSystem.Create("bench", ConfigurationFactory.ParseString("""
            akka {
              loglevel = WARNING
              stdout-loglevel = OFF
              loggers = ["Akka.Logger.Serilog.SerilogLogger, Akka.Logger.Serilog"]
              log-dead-letters = off
              log-dead-letters-during-shutdown = off
            }
            """));
        try
        {
            var engine = ActorThrottleEngine.Start(system, settings, new ThrottleEnvironment
            {
                Logger = Program.SilentLogger,
                RandomFor = _ => new Random(17),
            });
            using var stopPolling = CancellationTokenSource.CreateLinkedTokenSource(ctx.Cap);
            var poller = PollAsync(engine, ctx, stopPolling.Token);
            await ctx.WhenAllOrCap(ctx.Records.Select(async r =>
            {
                var request = new ChatRequest(r.Work.Model, [AtChatMessage.User(r.Work.Prompt)])
                {
                    RequestId = $"r{r.Work.Index}",
                    MaxTokens = r.Work.MaxTokens,
                };
                var reply = await engine.CompleteAsync(request, ctx.Cap);
                r.ClientAttempts = reply.Attempts;
                switch (reply)
                {
                    case ChatSuccess s:
                        r.Outcome = "Success";
                        r.End = ctx.Now;
                        r.FirstAttempt = r.End - s.Latency.TotalSeconds;
                        break;
                    case ChatFailure { Reason: FailureReason.Cancelled }:
                        r.Outcome = "Unfinished";
                        break;
                    case ChatFailure f:
                        r.Outcome = f.Reason.ToString();
                        r.End = ctx.Now;
                        break;
                }
            }));
            await stopPolling.CancelAsync();
            await poller;
        }
        finally
        {
            await system.Terminate();
        }
    }

    private static async Task PollAsync(ActorThrottleEngine engine, RunContext ctx, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            foreach (var m in ctx.Scenario.Models)
            {
                try
                {
                    var s = await engine.GetStatusAsync(m.Id, TimeSpan.FromSeconds(1));
                    lock (ctx.EngineSeries)
                    {
                        ctx.EngineSeries.Add(new EngineSample(ctx.Now, m.Id, s.Burst, s.Rate, s.Pending));
                    }
                }
                catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
                {
                    // a slow answer under load: skip the sample
                }
            }
            try
            {
                await Task.Delay(200, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static string Inv(double v) => v.ToString(CultureInfo.InvariantCulture);
}
