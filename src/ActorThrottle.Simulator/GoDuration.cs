using System.Globalization;
using System.Text;

namespace ActorThrottle.Simulator;

/// <summary>Formats durations the way Go's <c>time.Duration.String()</c> does, which is what OpenAI's reset headers use.</summary>
internal static class GoDuration
{
    private const long NanosPerMicro = 1_000;
    private const long NanosPerMilli = 1_000_000;
    private const long NanosPerSecond = 1_000_000_000;

    /// <summary>Go's format at 100 ns resolution: <c>0s</c>, <c>1.5µs</c>, <c>20ms</c>, <c>1s</c>, <c>1m30.5s</c>, <c>6m0s</c>, <c>1h0m0s</c>.</summary>
    public static string Format(TimeSpan value)
    {
        if (value < TimeSpan.Zero)
        {
            return "-" + Format(value.Duration());
        }

        var nanos = value.Ticks * 100;
        if (nanos == 0)
        {
            return "0s";
        }

        if (nanos < NanosPerSecond)
        {
            return nanos switch
            {
                < NanosPerMicro => nanos.ToString(CultureInfo.InvariantCulture) + "ns",
                < NanosPerMilli => WithFraction(nanos, NanosPerMicro, 3) + "µs",
                _ => WithFraction(nanos, NanosPerMilli, 6) + "ms",
            };
        }

        var hours = nanos / (3600 * NanosPerSecond);
        nanos -= hours * 3600 * NanosPerSecond;
        var minutes = nanos / (60 * NanosPerSecond);
        nanos -= minutes * 60 * NanosPerSecond;
        var sb = new StringBuilder();
        if (hours > 0)
        {
            sb.Append(hours.ToString(CultureInfo.InvariantCulture)).Append('h');
        }

        if (hours > 0 || minutes > 0)
        {
            sb.Append(minutes.ToString(CultureInfo.InvariantCulture)).Append('m');
        }

        sb.Append(WithFraction(nanos, NanosPerSecond, 9)).Append('s');
        return sb.ToString();
    }

    /// <summary>Rounds up to whole milliseconds first, as a rate-limit reset is never earlier than stated.</summary>
    public static string FormatMilliseconds(TimeSpan value)
    {
        var ms = (long)Math.Ceiling(value.TotalMilliseconds);
        return Format(TimeSpan.FromMilliseconds(ms));
    }

    private static string WithFraction(long nanos, long unit, int digits)
    {
        var whole = (nanos / unit).ToString(CultureInfo.InvariantCulture);
        var rest = nanos % unit;
        if (rest == 0)
        {
            return whole;
        }

        var fraction = rest.ToString(CultureInfo.InvariantCulture).PadLeft(digits, '0').TrimEnd('0');
        return whole + "." + fraction;
    }
}
