using ActorThrottle.Adaptation;
using Xunit;

namespace ActorThrottle.Tests.Adaptation;

public sealed class AcceptRateEstimatorSpec
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void It_measures_the_rate_over_the_span_of_the_last_samples()
    {
        var estimator = new AcceptRateEstimator(samples: 5);
        for (var i = 0; i < 5; i++)
        {
            estimator.RecordAccepted(T0 + TimeSpan.FromMilliseconds(100 * i));
        }
        Assert.Equal(10, estimator.Estimate(T0 + TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30))!.Value, 6);
        // Older samples leave the ring: a faster stretch shows at once.
        for (var i = 1; i <= 4; i++)
        {
            estimator.RecordAccepted(T0 + TimeSpan.FromMilliseconds(400 + 10 * i));
        }
        Assert.Equal(100, estimator.Estimate(T0 + TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30))!.Value, 6);
    }

    [Fact]
    public void It_has_no_estimate_until_full_and_none_when_stale_or_instantaneous()
    {
        var estimator = new AcceptRateEstimator(samples: 3);
        estimator.RecordAccepted(T0);
        estimator.RecordAccepted(T0);
        Assert.Null(estimator.Estimate(T0, TimeSpan.FromSeconds(30)));
        estimator.RecordAccepted(T0);
        Assert.Null(estimator.Estimate(T0, TimeSpan.FromSeconds(30)));
        estimator.RecordAccepted(T0 + TimeSpan.FromSeconds(1));
        Assert.NotNull(estimator.Estimate(T0 + TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30)));
        Assert.Null(estimator.Estimate(T0 + TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void Fewer_than_two_samples_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new AcceptRateEstimator(1));

    [Fact]
    public void With_a_minimum_below_the_ring_size_a_first_estimate_comes_early_and_then_spans_the_whole_ring()
    {
        var estimator = new AcceptRateEstimator(samples: 8, minSamples: 4);
        var t = T0;
        for (var i = 0; i < 3; i++)
        {
            estimator.RecordAccepted(t += TimeSpan.FromMilliseconds(100));
        }
        Assert.Null(estimator.Estimate(t, TimeSpan.FromSeconds(30)));
        estimator.RecordAccepted(t += TimeSpan.FromMilliseconds(100));
        Assert.Equal(10, estimator.Estimate(t, TimeSpan.FromSeconds(30))!.Value, 6);
        for (var i = 0; i < 20; i++)
        {
            estimator.RecordAccepted(t += TimeSpan.FromMilliseconds(50));
        }
        Assert.Equal(20, estimator.Estimate(t, TimeSpan.FromSeconds(30))!.Value, 6);
    }

    [Theory]
    [InlineData(8, 1)]
    [InlineData(8, 9)]
    public void A_minimum_outside_two_to_the_ring_size_is_refused(int samples, int minSamples) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new AcceptRateEstimator(samples, minSamples));

    [Fact]
    public void With_weights_it_measures_weight_per_second_leaving_out_the_oldest_samples_weight()
    {
        var estimator = new AcceptRateEstimator(samples: 4);
        // Sent at 0, 0.1, 0.2, 0.3 s costing 500, 100, 200, 300 tokens: 600 tokens after the first, over 0.3 s.
        long[] costs = [500, 100, 200, 300];
        for (var i = 0; i < 4; i++)
        {
            estimator.RecordAccepted(T0 + TimeSpan.FromMilliseconds(100 * i), costs[i]);
        }
        Assert.Equal(2000, estimator.Estimate(T0 + TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30))!.Value, 6);
    }

    [Fact]
    public void With_weights_recorded_out_of_order_the_oldest_by_time_is_left_out()
    {
        var estimator = new AcceptRateEstimator(samples: 3);
        estimator.RecordAccepted(T0 + TimeSpan.FromMilliseconds(200), 10);
        estimator.RecordAccepted(T0, 1_000);
        estimator.RecordAccepted(T0 + TimeSpan.FromMilliseconds(100), 30);
        Assert.Equal(200, estimator.Estimate(T0 + TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30))!.Value, 6);
    }

    [Fact]
    public void Cleared_it_has_no_estimate_until_it_has_the_minimum_again()
    {
        var estimator = new AcceptRateEstimator(samples: 8, minSamples: 3);
        for (var i = 0; i < 8; i++)
        {
            estimator.RecordAccepted(T0 + TimeSpan.FromMilliseconds(100 * i));
        }
        estimator.Clear();
        Assert.Null(estimator.Estimate(T0 + TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30)));
        estimator.RecordAccepted(T0 + TimeSpan.FromSeconds(2));
        estimator.RecordAccepted(T0 + TimeSpan.FromSeconds(2.5));
        Assert.Null(estimator.Estimate(T0 + TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(30)));
        estimator.RecordAccepted(T0 + TimeSpan.FromSeconds(3));
        // Only the samples since the clear: 2 over 1 s.
        Assert.Equal(2, estimator.Estimate(T0 + TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(30))!.Value, 6);
    }
}
