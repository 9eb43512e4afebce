namespace ActorThrottle.Configuration;

/// <summary>The validated settings of one model: its block under <c>models</c> merged over <c>defaults</c>.</summary>
public sealed record ModelSettings
{
    public required string ModelId { get; init; }
    public required ModelRoute Route { get; init; }
    public required TimeSpan RequestTimeout { get; init; }
    /// <summary>
    /// The configured <c>requests-per-second</c>: an upper bound the rate never exceeds (the user's contract may be below
    /// the provider's limit). With <see cref="AutoRate"/> it is where the throttle starts (<c>adapt.auto-start-rate</c>).
    /// </summary>
    public required double RequestsPerSecond { get; init; }

    /// <summary><c>requests-per-second = auto</c>: no ceiling; the rate is seeded from the provider's headers or probed upward.</summary>
    public bool AutoRate { get; init; }

    /// <summary>The most the rate may ever be: the configured number, or no bound with <see cref="AutoRate"/>.</summary>
    internal double RateCeiling => AutoRate ? double.PositiveInfinity : RequestsPerSecond;

    /// <summary>The configured <c>tokens-per-minute</c>, an upper bound; 0: no token limit (or, with <see cref="AutoTokens"/>, none known yet).</summary>
    public required long TokensPerMinute { get; init; }

    /// <summary>
    /// <c>tokens-per-minute = auto</c>: no token limit until the provider advertises one in its headers, which then seeds
    /// the token rate (AIMD adapts it from there, with no ceiling).
    /// </summary>
    public bool AutoTokens { get; init; }
    /// <summary><c>tokens-burst</c> as configured: the token bucket's capacity; 0 derives it (see <see cref="TokenBucketCapacity"/>).</summary>
    public long TokensBurst { get; init; }
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

    /// <summary>Seconds of <c>tokens-per-minute</c> the token bucket holds when <c>tokens-burst</c> is 0 (chosen from the benchmarks, scenario 6).</summary>
    public const double DefaultTokensBurstSeconds = 1;

    /// <summary>
    /// Most tokens the model's throttle releases at once: <c>tokens-burst</c>, or <see cref="DefaultTokensBurstSeconds"/> of
    /// <c>tokens-per-minute</c> when it is 0; 0 without a token limit. A request costing more (up to tokens-per-minute, the
    /// most that is admitted) still passes: it waits for a full bucket and is charged in full.
    /// </summary>
    public long TokenBucketCapacity => TokensPerMinute == 0 ? 0 : ConfiguredTokensBurst ?? DefaultTokensBurst(TokensPerMinute);

    /// <summary><c>tokens-burst</c> when one is set; null when it is 0, and the throttle holds <see cref="DefaultTokensBurst"/> of the token rate in force.</summary>
    public long? ConfiguredTokensBurst => TokensBurst > 0 ? TokensBurst : null;

    /// <summary><see cref="DefaultTokensBurstSeconds"/> of <paramref name="tokensPerMinute"/>, at least one token.</summary>
    public static long DefaultTokensBurst(long tokensPerMinute) => Math.Max(1, (long)Math.Ceiling(tokensPerMinute * DefaultTokensBurstSeconds / 60.0));
    public required AdaptSettings Adapt { get; init; }

    /// <summary>
    /// <c>deployments</c>: the endpoints serving this model, each with its own throttle (empty: the model has one
    /// deployment, its own endpoint). Callers still ask for <see cref="ModelId"/>; the reply names the deployment.
    /// </summary>
    public IReadOnlyList<DeploymentSettings> Deployments
    {
        get => _deployments.Items ?? [];
        init => _deployments = new Messages.ValueList<DeploymentSettings>(value);
    }

    // Compared by content, so two readings of one configuration are equal settings.
    private readonly Messages.ValueList<DeploymentSettings> _deployments = new(null);

    /// <summary>
    /// <c>deployment-cool-down</c>: when this deployment (of a model with <see cref="Deployments"/>) is taken out of the
    /// rotation and for how long; a model without deployments ignores it.
    /// </summary>
    public DeploymentCoolDownSettings DeploymentCoolDown { get; init; } = DeploymentCoolDownSettings.Default;

    /// <summary>One deployment of a model (its supervisor reports each attempt to the model's balancer).</summary>
    internal bool IsDeployment { get; init; }
}
