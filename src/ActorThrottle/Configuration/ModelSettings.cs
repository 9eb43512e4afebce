namespace ActorThrottle.Configuration;

/// <summary>The validated settings of one model: its block under <c>models</c> merged over <c>defaults</c>.</summary>
public sealed record ModelSettings
{
    public required string ModelId { get; init; }
    public required ModelRoute Route { get; init; }
    public required TimeSpan RequestTimeout { get; init; }
    public required double RequestsPerSecond { get; init; }
    public required long TokensPerMinute { get; init; }
    public required TokenAccounting TokenAccounting { get; init; }
    public required int DefaultMaxTokens { get; init; }
    public required int MaxContextTokens { get; init; }
    public required int MaxBurst { get; init; }
    public required int MinBurst { get; init; }
    public required double MinRate { get; init; }
    public required int MaxInFlight { get; init; }
    public required int QueueSize { get; init; }
    /// <summary>
    /// Models tried, in order, when a request exhausts its retries here or the provider answers <c>insufficient_quota</c>;
    /// each runs under its own throttle.
    /// </summary>
    public IReadOnlyList<string> Fallbacks { get; init; } = [];
    /// <summary>The model name sent to the provider; null sends <see cref="ModelId"/> (lets two ids reach one model on different endpoints).</summary>
    public string? ProviderModel { get; init; }
    /// <summary>Share of releases batch requests keep while interactive ones wait (0: strict priority).</summary>
    public double BatchShare { get; init; } = 0.1;

    /// <summary>Streamed requests ask for usage in their last chunk (<c>stream_options.include_usage</c>); <c>stream-usage</c>.</summary>
    public bool StreamUsage { get; init; } = true;
    public required RetrySettings Retry { get; init; }
    public required AdaptSettings Adapt { get; init; }
}
