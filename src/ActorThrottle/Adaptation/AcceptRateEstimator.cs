namespace ActorThrottle.Adaptation;

/// <summary>
/// Estimates the rate at which the provider has been accepting requests from the instants of the last
/// <c>samples</c> successes — the delivery-rate idea behind BBR: while we offer more than the provider's limit,
/// what it accepts is a direct measurement of that limit. Fixed memory; time is passed in.
/// </summary>
public sealed class AcceptRateEstimator
{
    private readonly DateTimeOffset[] _ring;
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
    }

    public void RecordAccepted(DateTimeOffset at)
    {
        _ring[_next] = at;
        _next = (_next + 1) % _ring.Length;
        _count = Math.Min(_count + 1, _ring.Length);
    }

    /// <summary>
    /// Accepted requests per second over the window the samples span, or null while fewer than the minimum exist
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
        for (var i = 0; i < _count; i++)
        {
            var at = _ring[(_next - 1 - i + 2 * _ring.Length) % _ring.Length];
            if (at < oldest)
            {
                oldest = at;
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
        return (_count - 1) / span;
    }
}
