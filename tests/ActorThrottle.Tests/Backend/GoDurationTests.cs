using ActorThrottle.Backend;
using Xunit;

namespace ActorThrottle.Tests.Backend;

public sealed class GoDurationTests
{
    [Theory]
    [InlineData("6m0s", 360_000)]
    [InlineData("1s", 1_000)]
    [InlineData("20ms", 20)]
    [InlineData("1m30.5s", 90_500)]
    [InlineData("1h", 3_600_000)]
    [InlineData("1h2m3s", 3_723_000)]
    [InlineData("0s", 0)]
    [InlineData("0.5s", 500)]
    [InlineData("1500us", 1.5)]
    [InlineData("1500µs", 1.5)]
    [InlineData("2000000ns", 2)]
    [InlineData(" 7s ", 7_000)]
    public void Go_duration_forms_parse(string text, double expectedMs)
    {
        Assert.True(GoDuration.TryParse(text, out var value));
        Assert.Equal(expectedMs, value.TotalMilliseconds, precision: 6);
    }

    [Theory]
    [InlineData("5", 5_000)]
    [InlineData("0.25", 250)]
    [InlineData("0", 0)]
    public void A_bare_number_is_read_as_seconds(string text, double expectedMs)
    {
        Assert.True(GoDuration.TryParse(text, out var value));
        Assert.Equal(expectedMs, value.TotalMilliseconds, precision: 6);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("s")]
    [InlineData("ms")]
    [InlineData("abc")]
    [InlineData("1x")]
    [InlineData("1 s")]
    [InlineData("1.2.3s")]
    [InlineData("1sm")]
    [InlineData("5m3")]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    [InlineData("1e3s")]
    public void Garbage_is_rejected(string? text)
    {
        Assert.False(GoDuration.TryParse(text, out var value));
        Assert.Equal(TimeSpan.Zero, value);
    }

    [Theory]
    [InlineData("-1s")]
    [InlineData("-5")]
    [InlineData("-0.5")]
    [InlineData("1m-5s")]
    public void Negative_durations_are_rejected(string text) =>
        Assert.False(GoDuration.TryParse(text, out _));

    [Theory]
    [InlineData("1e400")]
    [InlineData("99999999999999999999h")]
    [InlineData("9999999999999999999999999999999999999999s")]
    [InlineData("1e300")]
    public void Durations_too_large_for_a_TimeSpan_are_rejected_not_thrown(string text) =>
        Assert.False(GoDuration.TryParse(text, out _));

    [Fact]
    public void A_very_large_but_representable_duration_parses_so_callers_can_cap_it()
    {
        Assert.True(GoDuration.TryParse("100000h", out var value));
        Assert.Equal(TimeSpan.FromHours(100_000), value);
    }
}
