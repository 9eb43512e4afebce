namespace ActorThrottle.Retry;

/// <summary>
/// Finagle-style retry budget: over a sliding window, retries may be at most
/// <c>ratio</c> of the requests started plus <c>minPerSecond · window</c>, so a run of failures
/// cannot turn into a retry storm while a quiet model can still retry.
/// Counts live in a fixed ring of time slices: memory does not grow with traffic.
/// </summary>
internal sealed class RetryBudget
{
    private const int Slices = 10;
    private readonly double _ratio;
    private readonly double _floor;
    private readonly long _sliceTicks;
    private readonly long[] _sliceIndex = new long[Slices];
    private readonly int[] _requests = new int[Slices];
    private readonly int[] _retries = new int[Slices];

    public RetryBudget(double ratio, TimeSpan window, double minPerSecond)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ratio);
        ArgumentOutOfRangeException.ThrowIfNegative(minPerSecond);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        _ratio = ratio;
        _floor = minPerSecond * window.TotalSeconds;
        _sliceTicks = Math.Max(1, window.Ticks / Slices);
        Array.Fill(_sliceIndex, long.MinValue);
    }

    /// <summary>Records a first attempt.</summary>
    public void RecordRequest(DateTimeOffset now) => _requests[Slot(now)]++;

    /// <summary>Takes one retry from the budget; false when the budget is spent (the retry must not happen).</summary>
    public bool TryAcquireRetry(DateTimeOffset now)
    {
        var slot = Slot(now);
        long requests = 0, retries = 0;
        for (var i = 0; i < Slices; i++)
        {
            requests += _requests[i];
            retries += _retries[i];
        }
        if (retries + 1 > _ratio * requests + _floor)
        {
            return false;
        }
        _retries[slot]++;
        return true;
    }

    /// <summary>The retries still allowed right now.</summary>
    public double Available(DateTimeOffset now)
    {
        Slot(now);
        return _ratio * _requests.Sum() + _floor - _retries.Sum();
    }

    private int Slot(DateTimeOffset now)
    {
        var index = now.UtcTicks / _sliceTicks;
        // Expire slices older than the window (and any from a clock that jumped back).
        for (var i = 0; i < Slices; i++)
        {
            if (_sliceIndex[i] != long.MinValue && (index - _sliceIndex[i] >= Slices || _sliceIndex[i] > index))
            {
                _sliceIndex[i] = long.MinValue;
                _requests[i] = 0;
                _retries[i] = 0;
            }
        }
        var slot = (int)(((index % Slices) + Slices) % Slices);
        if (_sliceIndex[slot] != index)
        {
            _sliceIndex[slot] = index;
            _requests[slot] = 0;
            _retries[slot] = 0;
        }
        return slot;
    }
}
