namespace ActorThrottle.Simulator;

/// <summary>Exact maximum count of events in any window of a given length.</summary>
internal static class SlidingWindow
{
    /// <summary>
    /// The largest number of <paramref name="sortedTimestamps"/> within any half-open window
    /// [t, t + <paramref name="windowTicks"/>); an optimal window always starts at an event, so two pointers suffice.
    /// </summary>
    public static int MaxCount(ReadOnlySpan<long> sortedTimestamps, long windowTicks)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(windowTicks, 0);
        var best = 0;
        var head = 0;
        for (var tail = 0; tail < sortedTimestamps.Length; tail++)
        {
            while (sortedTimestamps[tail] - sortedTimestamps[head] >= windowTicks)
            {
                head++;
            }

            best = Math.Max(best, tail - head + 1);
        }

        return best;
    }
}
