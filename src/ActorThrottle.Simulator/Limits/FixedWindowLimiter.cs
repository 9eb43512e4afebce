namespace ActorThrottle.Simulator;

/// <summary>
/// A counter per window: on the clock (multiples of the window since the Unix epoch) or from the first hit after
/// the last window expired. The whole quota may go at the start of a window; the count restarts at the next.
/// </summary>
internal sealed class FixedWindowLimiter : Limiter
{
    private DateTimeOffset? _start;
    private double _count;

    public FixedWindowLimiter(LimitSpec spec, bool chargeRejected)
        : base(spec, chargeRejected)
    {
    }

    public override LimitCheck Check(DateTimeOffset now, double cost)
    {
        if (cost > Quota + Epsilon)
        {
            return LimitCheck.TooLarge;
        }

        var (count, end) = Current(now);
        return count + cost <= Quota + Epsilon ? LimitCheck.Admit : LimitCheck.Reject(end - now);
    }

    public override void Charge(DateTimeOffset now, double cost, bool admitted)
    {
        var (count, _) = Current(now);
        _start = WindowStartAt(now);
        _count = count + cost;
    }

    public override void Refund(DateTimeOffset now, double amount)
    {
        if (_start is { } start && now < start + Spec.Window)
        {
            _count = Math.Max(0, _count - amount);
        }
    }

    public override LimitFacts Facts(DateTimeOffset now)
    {
        var (count, end) = Current(now);
        var remaining = Whole(Quota - count);
        return new LimitFacts(Spec.DisplayName, Spec.Algorithm, Spec.Unit, Quota, Spec.Window, remaining, end - now, remaining >= 1 ? TimeSpan.Zero : end - now);
    }

    /// <summary>The count and end of the window a hit at <paramref name="now"/> falls into.</summary>
    private (double Count, DateTimeOffset End) Current(DateTimeOffset now)
    {
        if (_start is { } start && now < start + Spec.Window && now >= start)
        {
            return (_count, start + Spec.Window);
        }

        return (0, WindowStartAt(now) + Spec.Window);
    }

    private DateTimeOffset WindowStartAt(DateTimeOffset now)
    {
        if (_start is { } start && now < start + Spec.Window && now >= start)
        {
            return start;
        }

        if (Spec.WindowStart == WindowStart.FirstHit)
        {
            return now;
        }

        var ticks = now.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        return new DateTimeOffset(DateTimeOffset.UnixEpoch.UtcTicks + ticks - ticks % Spec.Window.Ticks, TimeSpan.Zero);
    }
}
