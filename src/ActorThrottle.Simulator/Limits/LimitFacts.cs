namespace ActorThrottle.Simulator;

/// <summary>
/// What one limit reports at an instant: the facts every header dialect is written from.
/// </summary>
/// <param name="Name">The policy name (<see cref="LimitSpec.DisplayName"/>).</param>
/// <param name="Algorithm">The limit's algorithm.</param>
/// <param name="Unit">Requests or tokens.</param>
/// <param name="Quota">Units per window now (schedule factor applied); in-flight requests for a concurrency limit.</param>
/// <param name="Window">The window the quota is counted over (zero for a concurrency limit).</param>
/// <param name="Remaining">Whole units that would be admitted now (never negative).</param>
/// <param name="Reset">Time until the limit is whole again: the window's end, or the bucket full (OpenAI's <c>reset</c>).</param>
/// <param name="NextAvailable">Time until one more unit would be admitted (zero while <paramref name="Remaining"/> &gt; 0).</param>
public readonly record struct LimitFacts(
    string Name,
    LimitAlgorithm Algorithm,
    LimitUnit Unit,
    double Quota,
    TimeSpan Window,
    long Remaining,
    TimeSpan Reset,
    TimeSpan NextAvailable);
