namespace ActorThrottle.Simulator;

/// <summary>
/// The behaviour of one simulated model: limits, token accounting, latency, faults and headers.
/// The shorthand limits (<see cref="RequestsPerSecond"/>, <see cref="RequestsPerMinute"/>, <see cref="TokensPerMinute"/>;
/// 0 = none) are token buckets whose refill rate is the limit and whose capacity is its burst (by default one period's
/// worth); <see cref="Limits"/> adds limits of any algorithm, and <see cref="Schedule"/> changes them over time.
/// </summary>
public sealed record ModelSettings
{
    /// <summary>Requests per second (0 = no limit).</summary>
    public double RequestsPerSecond { get; init; }

    /// <summary>Capacity of the requests-per-second bucket; null = <see cref="RequestsPerSecond"/>.</summary>
    public double? RequestsPerSecondBurst { get; init; }

    /// <summary>Requests per minute (0 = no limit).</summary>
    public double RequestsPerMinute { get; init; }

    /// <summary>Capacity of the requests-per-minute bucket; null = <see cref="RequestsPerMinute"/>.</summary>
    public double? RequestsPerMinuteBurst { get; init; }

    /// <summary>Tokens per minute (0 = no limit).</summary>
    public double TokensPerMinute { get; init; }

    /// <summary>Capacity of the token bucket; null = <see cref="TokensPerMinute"/>.</summary>
    public double? TokensBurst { get; init; }

    /// <summary>Further limits of any algorithm, checked after the shorthand ones; all must admit a request.</summary>
    public IReadOnlyList<LimitSpec> Limits { get; init; } = [];

    /// <summary>
    /// A scripted schedule, measured from the model's first request: each step scales every quota or starts an outage
    /// until the next step. Empty = the limits never change.
    /// </summary>
    public IReadOnlyList<ScheduleStep> Schedule { get; init; } = [];

    /// <summary>Whether unused completion tokens are refunded.</summary>
    public TokenAccounting TokenAccounting { get; init; } = TokenAccounting.Reserve;

    /// <summary>Max tokens charged for a request that names neither <c>max_tokens</c> nor <c>max_completion_tokens</c>.</summary>
    public int DefaultMaxTokens { get; init; } = 1024;

    /// <summary>Completion tokens a successful reply reports (capped at the request's max tokens).</summary>
    public int CompletionTokens { get; init; } = 16;

    /// <summary>Fixed latency applied after admission.</summary>
    public TimeSpan Latency { get; init; } = TimeSpan.Zero;

    /// <summary>Upper bound of a uniform random extra latency drawn from the model's seeded random.</summary>
    public TimeSpan LatencyJitter { get; init; } = TimeSpan.Zero;

    /// <summary>Fraction (0..1) of admitted requests answered 500.</summary>
    public double Error500Rate { get; init; }

    /// <summary>Fraction (0..1) of admitted requests answered 502.</summary>
    public double Error502Rate { get; init; }

    /// <summary>Fraction (0..1) of admitted requests answered 503.</summary>
    public double Error503Rate { get; init; }

    /// <summary>Fraction (0..1) of admitted requests whose connection is reset.</summary>
    public double ResetRate { get; init; }

    /// <summary>Fraction (0..1) of admitted requests that hang for <see cref="HangDuration"/> or until the client leaves.</summary>
    public double HangRate { get; init; }

    /// <summary>How long a hanging request waits before it is answered 504.</summary>
    public TimeSpan HangDuration { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Completion tokens per content chunk of a streamed reply (at least 2 content chunks when there are 2 tokens or more).</summary>
    public int StreamChunkTokens { get; init; } = 1;

    /// <summary>Wait before each content chunk of a streamed reply, so a stream takes visible time.</summary>
    public TimeSpan StreamChunkInterval { get; init; } = TimeSpan.Zero;

    /// <summary>
    /// Fraction (0..1) of admitted streamed requests whose connection is aborted after at least one content chunk
    /// and before the finish chunk. Applies only to requests with <c>"stream": true</c>, on top of the other faults.
    /// </summary>
    public double StreamBreakRate { get; init; }

    /// <summary>Which rate-limit headers are sent.</summary>
    public RateLimitHeaderMode HeaderMode { get; init; } = RateLimitHeaderMode.Full;

    /// <summary>Whether a rejected (429) request still consumes its request and token budget, as real providers do.</summary>
    public bool ChargeRejected { get; init; }

    /// <summary>Answer every request 429 <c>insufficient_quota</c> (billing, not rate).</summary>
    public bool InsufficientQuota { get; init; }

    /// <summary>Seed of the model's random (faults and latency), so runs repeat.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public void Validate()
    {
        NonNegative(RequestsPerSecond, nameof(RequestsPerSecond));
        NonNegative(RequestsPerMinute, nameof(RequestsPerMinute));
        NonNegative(TokensPerMinute, nameof(TokensPerMinute));
        Burst(RequestsPerSecondBurst, nameof(RequestsPerSecondBurst));
        Burst(RequestsPerMinuteBurst, nameof(RequestsPerMinuteBurst));
        Burst(TokensBurst, nameof(TokensBurst));
        if (Limits is null)
        {
            throw new ArgumentException($"{nameof(Limits)} must not be null (use an empty list).", nameof(Limits));
        }

        for (var i = 0; i < Limits.Count; i++)
        {
            (Limits[i] ?? throw new ArgumentException($"{nameof(Limits)}[{i}] must not be null.", nameof(Limits))).Validate($"{nameof(Limits)}[{i}]");
        }

        if (Schedule is null)
        {
            throw new ArgumentException($"{nameof(Schedule)} must not be null (use an empty list).", nameof(Schedule));
        }

        for (var i = 0; i < Schedule.Count; i++)
        {
            (Schedule[i] ?? throw new ArgumentException($"{nameof(Schedule)}[{i}] must not be null.", nameof(Schedule))).Validate($"{nameof(Schedule)}[{i}]");
            if (i > 0 && Schedule[i].At <= Schedule[i - 1].At)
            {
                throw new ArgumentException($"{nameof(Schedule)}[{i}].At must be later than {nameof(Schedule)}[{i - 1}].At ({Schedule[i - 1].At}), was {Schedule[i].At}.", nameof(Schedule));
            }
        }
        if (DefaultMaxTokens < 0)
        {
            throw new ArgumentException($"{nameof(DefaultMaxTokens)} must be >= 0, was {DefaultMaxTokens}.", nameof(DefaultMaxTokens));
        }

        if (CompletionTokens < 0)
        {
            throw new ArgumentException($"{nameof(CompletionTokens)} must be >= 0, was {CompletionTokens}.", nameof(CompletionTokens));
        }

        if (StreamChunkTokens < 1)
        {
            throw new ArgumentException($"{nameof(StreamChunkTokens)} must be >= 1, was {StreamChunkTokens}.", nameof(StreamChunkTokens));
        }

        NonNegative(StreamChunkInterval, nameof(StreamChunkInterval));
        Fraction(StreamBreakRate, nameof(StreamBreakRate));
        NonNegative(Latency, nameof(Latency));
        NonNegative(LatencyJitter, nameof(LatencyJitter));
        NonNegative(HangDuration, nameof(HangDuration));
        Fraction(Error500Rate, nameof(Error500Rate));
        Fraction(Error502Rate, nameof(Error502Rate));
        Fraction(Error503Rate, nameof(Error503Rate));
        Fraction(ResetRate, nameof(ResetRate));
        Fraction(HangRate, nameof(HangRate));
        var faults = Error500Rate + Error502Rate + Error503Rate + ResetRate + HangRate;
        if (faults > 1 + 1e-9)
        {
            throw new ArgumentException($"The fault rates add up to {faults}, more than 1.", nameof(Error500Rate));
        }
    }

    private static void NonNegative(double value, string name)
    {
        if (!double.IsFinite(value) || value < 0)
        {
            throw new ArgumentException($"{name} must be a finite number >= 0, was {value}.", name);
        }
    }

    private static void NonNegative(TimeSpan value, string name)
    {
        if (value < TimeSpan.Zero)
        {
            throw new ArgumentException($"{name} must not be negative, was {value}.", name);
        }
    }

    private static void Burst(double? value, string name)
    {
        // A burst below one could never admit a single request.
        if (value is { } v && (!double.IsFinite(v) || v < 1))
        {
            throw new ArgumentException($"{name} must be >= 1 when set, was {v}.", name);
        }
    }

    private static void Fraction(double value, string name)
    {
        if (!double.IsFinite(value) || value < 0 || value > 1)
        {
            throw new ArgumentException($"{name} must be between 0 and 1, was {value}.", name);
        }
    }
}
