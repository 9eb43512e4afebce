using ActorThrottle.Adaptation;
using Xunit;

namespace ActorThrottle.Tests.Adaptation;

/// <summary>The accepted-rate estimate when successes come back after spread latencies, out of send order.</summary>
public sealed class AcceptRateEstimatorLatencySpec
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void With_latencies_spread_over_200_ms_the_estimate_counts_only_the_complete_send_window(int seed)
    {
        // 100/s sent for 5 s, each answered after 100-300 ms, recorded in the order answered, estimated as the answers arrive.
        var random = new Random(seed);
        var sends = Enumerable.Range(0, 500).Select(i => (Sent: T0.AddMilliseconds(i * 10), Answered: T0.AddMilliseconds(i * 10 + random.Next(100, 301))))
            .OrderBy(s => s.Answered).ToList();
        var estimator = new AcceptRateEstimator(64, 16);
        var estimates = new List<double>();
        foreach (var (sent, answered) in sends)
        {
            estimator.RecordAccepted(sent, 1, answered);
            if (answered > T0.AddSeconds(2) && estimator.Estimate(answered, TimeSpan.FromSeconds(30)) is { } e)
            {
                estimates.Add(e);
            }
        }

        Assert.NotEmpty(estimates);
        Assert.All(estimates, e => Assert.InRange(e, 94, 106));
    }

    [Fact]
    public void Without_latencies_the_estimate_is_unchanged()
    {
        var estimator = new AcceptRateEstimator(64, 16);
        for (var i = 0; i < 64; i++)
        {
            estimator.RecordAccepted(T0.AddMilliseconds(i * 20));
        }
        Assert.Equal(50, estimator.Estimate(T0.AddSeconds(2), TimeSpan.FromSeconds(30))!.Value, 6);
    }
}
