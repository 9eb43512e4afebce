namespace ActorThrottle.Simulator;

/// <summary>A snapshot of the provider's statistics.</summary>
/// <param name="Epoch">When second 0 began.</param>
/// <param name="Elapsed">Time since the epoch when the snapshot was taken.</param>
/// <param name="Models">Per model, by id.</param>
public sealed record SimulatorStats(DateTimeOffset Epoch, TimeSpan Elapsed, IReadOnlyDictionary<string, ModelStats> Models)
{
    /// <summary>The counters of all models added up.</summary>
    public StatsCounters Totals => Models.Values.Aggregate(StatsCounters.Zero, (sum, m) => sum.Add(m.Totals));

    /// <summary>The statistics of one model, or empty ones if it has seen no request.</summary>
    /// <param name="model">The model id.</param>
    public ModelStats For(string model) =>
        Models.TryGetValue(model, out var stats) ? stats : new ModelStats(model, StatsCounters.Zero, []);
}
