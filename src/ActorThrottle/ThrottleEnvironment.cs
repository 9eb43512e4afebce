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

    /// <summary>Where the engine's events go when set (a Serilog logger wins over <see cref="LoggerFactory"/>). Default: <see cref="LoggerFactory"/>, else Serilog's static <see cref="Serilog.Log.Logger"/>.</summary>
    public Serilog.ILogger? Logger { get; init; }

    /// <summary>
    /// The host's <c>Microsoft.Extensions.Logging</c> factory: with no <see cref="Logger"/>, the engine's events (the
    /// per-attempt event, rate changes, warnings) go through it, categories <c>ActorThrottle.*</c>, with the same
    /// properties. <c>WithActorThrottle</c> sets it from the host's services. Null: Serilog.
    /// </summary>
    public Microsoft.Extensions.Logging.ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>The logger the engine writes to: <see cref="Logger"/>, else a bridge to <see cref="LoggerFactory"/>, else Serilog's static logger.</summary>
    internal Serilog.ILogger ResolveLogger() =>
        Logger ?? (LoggerFactory is { } factory ? new LoggerFactoryBridge(factory) : Serilog.Log.Logger);

    /// <summary>The meter's owner. Default: a new <see cref="ActorThrottleMetrics"/>.</summary>
    public ActorThrottleMetrics? Metrics { get; init; }
}
