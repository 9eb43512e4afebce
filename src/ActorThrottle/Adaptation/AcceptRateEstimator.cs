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
    private readonly int _minSamples;
    private int _next;
    private int _count;

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
    }

    /// <param name="at">When the accepted call was sent.</param>
    /// <param name="weight">What it counts for: 1 for a request, its cost for tokens.</param>
    public void RecordAccepted(DateTimeOffset at, double weight = 1)
    {
        _ring[_next] = at;
        _weights[_next] = weight;
        _next = (_next + 1) % _ring.Length;
        _count = Math.Min(_count + 1, _ring.Length);
    }

    /// <summary>
    /// Accepted requests (or weight) per second over the window the samples span — the weight of every sample but the
    /// oldest, over the time from the oldest to the newest — or null while fewer than the minimum exist
    /// or they are older than <paramref name="maxAge"/> (an old estimate says nothing about the provider now).
    /// </summary>
    public double? Estimate(DateTimeOffset now, TimeSpan maxAge)
    {
        if (_count < _minSamples)
        {
            return null;
        }
        // Samples may arrive out of order (send times recorded in completion order): span min to max.
        DateTimeOffset oldest = DateTimeOffset.MaxValue, newest = DateTimeOffset.MinValue;
        double total = 0, oldestWeight = 0;
        for (var i = 0; i < _count; i++)
        {
            var slot = (_next - 1 - i + 2 * _ring.Length) % _ring.Length;
            var at = _ring[slot];
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
        if (span <= 0 || now - oldest > maxAge)
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
