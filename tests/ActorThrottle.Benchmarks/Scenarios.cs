using ActorThrottle.Simulator;
using SimModelSettings = ActorThrottle.Simulator.ModelSettings;

namespace ActorThrottle.Benchmarks;

/// <summary>One model of a scenario: what the provider really allows and what the client is told.</summary>
/// <param name="Id">Model id (no dots, so HOCON needs no quoting).</param>
/// <param name="RealRps">The simulator's requests-per-second limit (0 = none).</param>
/// <param name="ConfiguredRps">What the client is configured with (ActorThrottle's requests-per-second, Polly's limiter).</param>
/// <param name="Requests">Backlog submitted at t = 0.</param>
public sealed record ModelSpec(string Id, double RealRps, double ConfiguredRps, int Requests)
{
    /// <summary>Real tokens-per-minute limit (0 = none).</summary>
    public double RealTpm { get; init; }

    /// <summary>Configured tokens-per-minute (ActorThrottle's tokens-per-minute).</summary>
    public double ConfiguredTpm { get; init; }

    /// <summary>The model the scenario reports on (scenario 4 reports the healthy one).</summary>
    public bool Headline { get; init; } = true;
}

/// <summary>One request of a backlog.</summary>
public sealed record WorkRequest(int Index, string Model, string Prompt, int MaxTokens);

/// <summary>A scenario: simulator settings fixed in code, a backlog, an optional change mid-run, a time cap.</summary>
public sealed record Scenario(string Key, string Title, IReadOnlyList<ModelSpec> Models)
{
    public TimeSpan Latency { get; init; } = TimeSpan.FromMilliseconds(100);
    public TimeSpan LatencyJitter { get; init; } = TimeSpan.FromMilliseconds(200);
    public double Error503Rate { get; init; }
    public bool ChargeRejected { get; init; }

    /// <summary>Seconds after the start when the limit of every model drops to <see cref="DropFactor"/>; null = no drop.</summary>
    public double? DropAt { get; init; }
    public double DropFactor { get; init; } = 0.4;

    /// <summary>Token-bound scenario: varied prompts and max_tokens, goodput measured in tokens.</summary>
    public bool TokenBound { get; init; }

    /// <summary>Hard bound on a run: requests not answered by then count as unfinished.</summary>
    public double CapSeconds { get; init; }

    /// <summary>A provider shape of the matrix: the simulator's settings for a model, in place of the token bucket below.</summary>
    public Func<ModelSpec, SimModelSettings>? Provider { get; init; }

    /// <summary>The provider's scripted schedule (from the first request, taken as t = 0): the real limit follows it; an outage is 0.</summary>
    public IReadOnlyList<ScheduleStep> Schedule { get; init; } = [];

    public SimModelSettings SimSettingsFor(ModelSpec m) => Provider?.Invoke(m) ?? new()
    {
        RequestsPerSecond = m.RealRps,
        TokensPerMinute = m.RealTpm,
        // One second of tokens as burst, like the requests bucket (the simulator's default would be a whole minute).
        TokensBurst = m.RealTpm > 0 ? m.RealTpm / 60 : null,
        Latency = Latency,
        LatencyJitter = LatencyJitter,
        Error503Rate = Error503Rate,
        ChargeRejected = ChargeRejected,
        HeaderMode = RateLimitHeaderMode.Full,
        Seed = 42,
    };

    /// <summary>The provider's real request limit of <paramref name="m"/> at time <paramref name="t"/> (seconds).</summary>
    public double LimitAt(ModelSpec m, double t)
    {
        if (Schedule.Count > 0)
        {
            return m.RealRps * FactorAt(t);
        }

        return DropAt is { } d && t >= d ? m.RealRps * DropFactor : m.RealRps;
    }

    /// <summary>Requests the limit allows in [0, t] without the initial bucket.</summary>
    public double LimitIntegral(ModelSpec m, double t)
    {
        if (Schedule.Count > 0)
        {
            // Piecewise constant between steps.
            var total = 0.0;
            var from = 0.0;
            var factor = 1.0;
            foreach (var step in Schedule)
            {
                var at = step.At.TotalSeconds;
                if (at >= t)
                {
                    break;
                }

                total += m.RealRps * factor * (at - from);
                (from, factor) = (at, step.OutageStatus is null ? step.Factor : 0);
            }

            return total + m.RealRps * factor * Math.Max(0, t - from);
        }

        return DropAt is { } d && t > d ? m.RealRps * d + m.RealRps * DropFactor * (t - d) : m.RealRps * t;
    }

    private double FactorAt(double t)
    {
        var factor = 1.0;
        foreach (var step in Schedule.Where(s => s.At.TotalSeconds <= t))
        {
            factor = step.OutageStatus is null ? step.Factor : 0;
        }

        return factor;
    }

    public IReadOnlyList<WorkRequest> BuildBacklog()
    {
        var random = new Random(7);
        var list = new List<WorkRequest>();
        var max = Models.Max(m => m.Requests);
        var index = 0;
        // Interleave models so a shared semaphore sees them mixed, as an application would.
        for (var i = 0; i < max; i++)
        {
            foreach (var m in Models.Where(m => i < m.Requests))
            {
                if (TokenBound)
                {
                    var words = random.Next(20, 400);
                    var prompt = string.Join(' ', Enumerable.Range(0, words).Select(w => Words[random.Next(Words.Length)]));
                    list.Add(new WorkRequest(index++, m.Id, prompt, random.Next(16, 257)));
                }
                else
                {
                    list.Add(new WorkRequest(index++, m.Id, ProviderZoo.Prompt(i), ProviderZoo.BacklogMaxTokens));
                }
            }
        }
        return list;
    }

    private static readonly string[] Words = ["alpha", "river", "compute", "token", "limit", "actor", "stream", "model", "queue", "latency", "provider", "retry"];

    /// <summary>All scenarios; <paramref name="quick"/> shrinks backlogs and caps.</summary>
    public static IReadOnlyList<Scenario> All(bool quick)
    {
        // Full: 100 req/s limit, backlog 1,200 = 11 s of work after the 1 s initial bucket; cap 2x + 5 s.
        // Quick: backlog 400.
        var n = quick ? 400 : 1200;
        double Cap(double workSeconds) => Math.Ceiling(2 * workSeconds + 5);
        var ideal = (n - 100) / 100.0;
        var dropWork = 3 + (n - 100 - 300) / 40.0; // 100/s for 3 s, then 40/s
        return
        [
            new("1a", "Known limit, latency 0", [new ModelSpec("m", 100, 100, n)])
            {
                Latency = TimeSpan.Zero, LatencyJitter = TimeSpan.Zero, CapSeconds = Cap(ideal),
            },
            new("1b", "Known limit, latency 100-300 ms", [new ModelSpec("m", 100, 100, n)]) { CapSeconds = Cap(ideal) },
            new("2", "Unknown limit: configured 2x real", [new ModelSpec("m", 100, 200, n)]) { CapSeconds = Cap(ideal) },
            new("3", "Limit drops to 40% at t = 3 s", [new ModelSpec("m", 100, 100, n)]) { DropAt = 3, CapSeconds = Cap(dropWork) },
            new("4", "Two models, one in a 429 storm (configured 3x)",
                [new ModelSpec("healthy", 100, 100, n), new ModelSpec("storm", 100, 300, n) { Headline = false }]) { CapSeconds = Cap(ideal) },
            new("5", "10% injected 503s", [new ModelSpec("m", 100, 100, n)]) { Error503Rate = 0.10, CapSeconds = Cap(ideal / 0.9) },
            // Requests average ~(280 prompt + 136 max) tokens; 1.5M TPM = 25k tokens/s ~ 60 req/s binding; request limit 1,000/s.
            new("6", "Token-bound: 1.5M tokens/min binding, varied sizes", [new ModelSpec("m", 1000, 1000, n) { RealTpm = 1_500_000, ConfiguredTpm = 1_500_000 }])
            {
                TokenBound = true, CapSeconds = Cap(n / 60.0),
            },
            new("7", "Rejected requests count against the limit (configured 2x)", [new ModelSpec("m", 100, 200, n)])
            {
                ChargeRejected = true, CapSeconds = Cap(ideal),
            },
        ];
    }
}
