namespace ActorThrottle.Simulator;

/// <summary>One model's statistics.</summary>
/// <param name="Model">The model id.</param>
/// <param name="Totals">Counters since the epoch (or the last reset).</param>
/// <param name="PerSecond">Counters per second, in order, only for seconds in which something happened.</param>
public sealed record ModelStats(string Model, StatsCounters Totals, IReadOnlyList<SecondStats> PerSecond);
