using ActorThrottle.Backend;
using ActorThrottle.Diagnostics;

namespace ActorThrottle;

/// <summary>
/// What the engine takes from outside: the backend, time, randomness, logging and metrics. Tests inject
/// fakes here (a scripted backend, a fake clock, seeded randomness).
/// </summary>
public sealed record ThrottleEnvironment
{
    /// <summary>Creates each model's backend. Default: the OpenAI SDK over one pooled <see cref="HttpClient"/>.</summary>
    public IChatBackendFactory? BackendFactory { get; init; }

    /// <summary>The clock for throttling, retries and deadlines. Default: <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>The random source of a model's retry jitter, by model id. Default: an unseeded <see cref="Random"/>.</summary>
    public Func<string, Random> RandomFor { get; init; } = _ => new Random();

    /// <summary>Where the per-attempt events go. Default: Serilog's static <see cref="Serilog.Log.Logger"/>.</summary>
    public Serilog.ILogger? Logger { get; init; }

    /// <summary>The meter's owner. Default: a new <see cref="ActorThrottleMetrics"/>.</summary>
    public ActorThrottleMetrics? Metrics { get; init; }
}
