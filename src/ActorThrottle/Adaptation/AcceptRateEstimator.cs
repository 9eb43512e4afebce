namespace ActorThrottle.Adaptation;

/// <summary>
/// Estimates the rate at which the provider has been accepting requests from the instants of the last
/// <c>samples</c> successes — the delivery-rate idea behind BBR: while we offer more than the provider's limit,
/// what it accepts is a direct measurement of that limit. Each success may carry a weight (its token cost), which makes
/// the estimate one of accepted tokens per second. Fixed memory; time is passed in.
/// </summary>
internal sealed class AcceptRateEstimator
{
    private readonly DateTimeOffset[] _ring;
    private readonly double[] _weights;
    private readonly DateTimeOffset[] _answered;
    private readonly TimeSpan[] _latencies;
    private readonly int _minSamples;
    private int _next;
    private int _count;

    /// <summary>Successes held (at most the ring's size).</summary>
    public int Count => _count;

    /// <param name="samples">Successes the estimate spans once it has them.</param>
    /// <param name="minSamples">Successes needed before there is any estimate (default: all of <paramref name="samples"/>).</param>
    public AcceptRateEstimator(int samples, int? minSamples = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(samples, 2);
        _minSamples = minSamples ?? samples;
        ArgumentOutOfRangeException.ThrowIfLessThan(_minSamples, 2, nameof(minSamples));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(_minSamples, samples, nameof(minSamples));
        _ring = new DateTimeOffset[samples];
        _weights = new double[samples];
        _answered = new DateTimeOffset[samples];
        _latencies = new TimeSpan[samples];
    }

    /// <param name="at">When the accepted call was sent.</param>
    /// <param name="weight">What it counts for: 1 for a request, its cost for tokens.</param>
    /// <param name="answeredAt">When it was answered (default: <paramref name="at"/>, no latency).</param>
    public void RecordAccepted(DateTimeOffset at, double weight = 1, DateTimeOffset? answeredAt = null)
    {
        _ring[_next] = at;
        _weights[_next] = weight;
        _answered[_next] = answeredAt is { } a && a > at ? a : at;
        _next = (_next + 1) % _ring.Length;
        _count = Math.Min(_count + 1, _ring.Length);
    }

    /// <summary>
    /// Accepted requests (or weight) per second over the window the samples span — the weight of every sample but the
    /// oldest, over the time from the oldest to the newest — or null while fewer than the minimum exist
    /// or they are older than <paramref name="maxAge"/> (an old estimate says nothing about the provider now).
    /// </summary>
    /// <remarks>
    /// With latencies, the samples held are the last ones <em>answered</em>, so the send times at both ends of their span
    /// are incomplete: calls sent lately with a long latency are still in flight, and calls sent early with a short one
    /// have already left the ring while their slower neighbours remain. Counting those ends under-reads the rate by up to
    /// the latency's spread over the span (benchmarks: 88 for a limit of 100 at 100–300 ms). So the estimate counts only
    /// the send times every call of which must be held — after the oldest answer minus the short (10th percentile)
    /// latency, up to now minus the long (90th percentile) one — when that window holds the minimum of samples; else all.
    /// </remarks>
    public double? Estimate(DateTimeOffset now, TimeSpan maxAge)
    {
        if (_count < _minSamples)
        {
            return null;
        }
        if (CompleteWindow(now) is { } window && Estimate(now, maxAge, window.From, window.To) is { } complete)
        {
            return complete;
        }
        return Estimate(now, maxAge, DateTimeOffset.MinValue, DateTimeOffset.MaxValue);
    }

    private (DateTimeOffset From, DateTimeOffset To)? CompleteWindow(DateTimeOffset now)
    {
        var oldestAnswer = DateTimeOffset.MaxValue;
        for (var i = 0; i < _count; i++)
        {
            _latencies[i] = _answered[i] - _ring[i];
            if (_answered[i] < oldestAnswer)
            {
                oldestAnswer = _answered[i];
            }
        }
        Array.Sort(_latencies, 0, _count);
        var shortLatency = _latencies[Math.Clamp((int)Math.Ceiling(0.1 * _count) - 1, 0, _count - 1)];
        var longLatency = _latencies[Math.Clamp((int)Math.Ceiling(0.9 * _count) - 1, 0, _count - 1)];
        if (longLatency == TimeSpan.Zero)
        {
            return null;
        }
        // Until the ring is full nothing has left it: the old end is complete.
        var from = _count < _ring.Length ? DateTimeOffset.MinValue : oldestAnswer - shortLatency;
        return (from, now - longLatency);
    }

    private double? Estimate(DateTimeOffset now, TimeSpan maxAge, DateTimeOffset from, DateTimeOffset to)
    {
        // Samples may arrive out of order (send times recorded in completion order): span min to max.
        DateTimeOffset oldest = DateTimeOffset.MaxValue, newest = DateTimeOffset.MinValue;
        double total = 0, oldestWeight = 0;
        var counted = 0;
        for (var i = 0; i < _count; i++)
        {
            var slot = (_next - 1 - i + 2 * _ring.Length) % _ring.Length;
            var at = _ring[slot];
            if (at < from || at > to)
            {
                continue;
            }
            counted++;
            total += _weights[slot];
            if (at < oldest)
            {
                oldest = at;
                oldestWeight = _weights[slot];
            }
            if (at > newest)
            {
                newest = at;
            }
        }
        var span = (newest - oldest).TotalSeconds;
        if (counted < _minSamples || span <= 0 || now - oldest > maxAge)
        {
            return null;
        }
        return (total - oldestWeight) / span;
    }

    /// <summary>Forgets every sample: what was accepted before says nothing about the limit any more.</summary>
    public void Clear()
    {
        _next = 0;
        _count = 0;
    }
}
