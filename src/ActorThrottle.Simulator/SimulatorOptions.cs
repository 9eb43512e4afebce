namespace ActorThrottle.Simulator;

/// <summary>Start-up options of a <see cref="SimulatedProvider"/>.</summary>
public sealed record SimulatorOptions
{
    /// <summary>Loopback port to listen on; 0 picks a free one (kept across stop and start).</summary>
    public int Port { get; init; }

    /// <summary>If set, <c>/v1/*</c> requires <c>Authorization: Bearer &lt;key&gt;</c> and answers 401 otherwise.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Settings of models that are not configured in <see cref="Models"/> (when served).</summary>
    public ModelSettings DefaultModel { get; init; } = new();

    /// <summary>Per-model settings, by model id.</summary>
    public IReadOnlyDictionary<string, ModelSettings> Models { get; init; } = new Dictionary<string, ModelSettings>();

    /// <summary>What to do with a model that has no settings of its own.</summary>
    public UnknownModelPolicy UnknownModels { get; init; } = UnknownModelPolicy.Serve;

    /// <summary>How many acceptance timestamps each model keeps for <see cref="SimulatedProvider.MaxAcceptedInWindow"/>.</summary>
    public int AcceptanceHistoryCapacity { get; init; } = 1_000_000;

    /// <summary>Clock of the buckets, statistics and latency; null = <see cref="System.TimeProvider.System"/>.</summary>
    public TimeProvider? TimeProvider { get; init; }

    /// <summary>Whether ASP.NET Core logs to the console (off by default: no noise in tests).</summary>
    public bool EnableLogging { get; init; }

    /// <summary>How long stopping waits for requests in flight (hangs and latency waits are cancelled at once).</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public void Validate()
    {
        if (Port is < 0 or > 65535)
        {
            throw new ArgumentException($"{nameof(Port)} must be 0..65535, was {Port}.", nameof(Port));
        }

        if (AcceptanceHistoryCapacity < 1)
        {
            throw new ArgumentException($"{nameof(AcceptanceHistoryCapacity)} must be >= 1, was {AcceptanceHistoryCapacity}.", nameof(AcceptanceHistoryCapacity));
        }

        ArgumentNullException.ThrowIfNull(DefaultModel, nameof(DefaultModel));
        DefaultModel.Validate();
        ArgumentNullException.ThrowIfNull(Models, nameof(Models));
        foreach (var (id, settings) in Models)
        {
            if (string.IsNullOrWhiteSpace(id))
            {
                throw new ArgumentException("A model id in Models is blank.", nameof(Models));
            }

            ArgumentNullException.ThrowIfNull(settings, $"Models[{id}]");
            settings.Validate();
        }
    }
}
