namespace ActorThrottle.Adaptation;

/// <summary>
/// The decrease steps taken since the last overload cut, each with the value before it (bounded to the newest
/// <see cref="Capacity"/>): an overload cuts from the value its rejected attempts were sent at, not from one a step
/// already lowered for the same congestion.
/// </summary>
internal sealed class StepHistory<T>
{
    public const int Capacity = 64;
    private readonly Queue<(DateTimeOffset At, T Before)> _steps = new();

    public void Record(DateTimeOffset at, T before)
    {
        _steps.Enqueue((at, before));
        if (_steps.Count > Capacity)
        {
            _steps.Dequeue();
        }
    }

    /// <summary>The value before the first step taken at or after <paramref name="since"/>; <paramref name="current"/> when none was.</summary>
    public T BeforeFirstSince(DateTimeOffset since, T current)
    {
        foreach (var (at, before) in _steps)
        {
            if (at >= since)
            {
                return before;
            }
        }
        return current;
    }

    public void Clear() => _steps.Clear();
}
