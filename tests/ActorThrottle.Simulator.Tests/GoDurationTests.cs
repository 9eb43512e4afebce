namespace ActorThrottle.Simulator.Tests;

public sealed class GoDurationTests
{
    [Theory]
    [InlineData(0L, "0s")]
    [InlineData(1L, "100ns")]
    [InlineData(5_000L, "500µs")]
    [InlineData(15_000L, "1.5ms")]
    [InlineData(200_000L, "20ms")]
    [InlineData(10_000_000L, "1s")]
    [InlineData(15_000_000L, "1.5s")]
    [InlineData(600_000_000L, "1m0s")]
    [InlineData(3_600_000_000L, "6m0s")]
    [InlineData(905_000_000L, "1m30.5s")]
    [InlineData(36_000_000_000L, "1h0m0s")]
    [InlineData(73_440_050_000L, "2h2m24.005s")]
    [InlineData(-10_000_000L, "-1s")]
    public void Formats_like_go(long ticks, string expected)
    {
        Assert.Equal(expected, GoDuration.Format(TimeSpan.FromTicks(ticks)));
    }

    [Theory]
    [InlineData(0.0, "0s")]
    [InlineData(0.3, "1ms")]
    [InlineData(19.2, "20ms")]
    [InlineData(999.01, "1s")]
    [InlineData(90_500.0, "1m30.5s")]
    public void Header_format_rounds_up_to_milliseconds(double milliseconds, string expected)
    {
        Assert.Equal(expected, GoDuration.FormatMilliseconds(TimeSpan.FromMilliseconds(milliseconds)));
    }
}
