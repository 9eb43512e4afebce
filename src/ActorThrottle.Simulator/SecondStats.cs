namespace ActorThrottle.Simulator;

/// <summary>Outcomes of requests that arrived within one second.</summary>
/// <param name="Second">Whole seconds since the provider was created (its statistics epoch).</param>
/// <param name="UnixSecond">The same second as a Unix time in seconds.</param>
/// <param name="Counters">What happened in that second.</param>
public sealed record SecondStats(long Second, long UnixSecond, StatsCounters Counters);
