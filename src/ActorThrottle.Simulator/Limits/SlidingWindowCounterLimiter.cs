namespace ActorThrottle.Simulator;

/// <summary>
/// Two clock-aligned windows: the estimate at instant t, a fraction f into the current window, is
/// previous·(1 − f) + current. Admits while the estimate plus the cost fits the quota.
/// </summary>
internal sealed class SlidingWindowCounterLimiter : Limiter
{
    private long _index = long.MinValue;
    private double _current;
    private double _previous;

    public SlidingWindowCounterLimiter(LimitSpec spec, bool chargeRejected)
        : base(spec, chargeRejected)
    {
    }

    public override LimitCheck Check(DateTimeOffset now, double cost)
    {
        if (cost > Quota + Epsilon)
        {
            return LimitCheck.TooLarge;
        }

        Roll(now);
        return Estimate(now) + cost <= Quota + Epsilon ? LimitCheck.Admit : LimitCheck.Reject(WaitFor(now, cost));
    }

    public override void Charge(DateTimeOffset now, double cost, bool admitted)
    {
        Roll(now);
        _current += cost;
    }

    public override void Refund(DateTimeOffset now, double amount)
    {
        Roll(now);
        _current = Math.Max(0, _current - amount);
    }

    public override LimitFacts Facts(DateTimeOffset now)
    {
        Roll(now);
        var remaining = Whole(Quota - Estimate(now));
        var windowEnd = StartOf(_index + 1);
        var reset = _current > Epsilon ? windowEnd + Spec.Window - now : _previous > Epsilon ? windowEnd - now : TimeSpan.Zero;
        return new LimitFacts(Spec.DisplayName, Spec.Algorithm, Spec.Unit, Quota, Spec.Window, remaining, reset, remaining >= 1 ? TimeSpan.Zero : WaitFor(now, 1));
    }

    private double Fraction(DateTimeOffset now) => (now - StartOf(_index)).Ticks / (double)Spec.Window.Ticks;

    private double Estimate(DateTimeOffset now) => _previous * (1 - Fraction(now)) + _current;

    /// <summary>The first instant the estimate leaves room for <paramref name="cost"/>, given no further hits.</summary>
    private TimeSpan WaitFor(DateTimeOffset now, double cost)
    {
        var room = Quota - cost;
        if (_current <= room + Epsilon)
        {
            // Within this window the previous window's share decays until it fits: previous·(1 − f) ≤ room − current.
            var f = _previous > Epsilon ? 1 - (room - _current) / _previous : 0;
            return StartOf(_index) + Spec.Window * Math.Clamp(f, 0, 1) - now;
        }

        // Only in the next window, where this window's count decays: current·(1 − f) ≤ room.
        var g = 1 - room / _current;
        return StartOf(_index + 1) + Spec.Window * Math.Clamp(g, 0, 1) - now;
    }

    private DateTimeOffset StartOf(long index) => new(DateTimeOffset.UnixEpoch.UtcTicks + index * Spec.Window.Ticks, TimeSpan.Zero);

    private void Roll(DateTimeOffset now)
    {
        var index = (now.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / Spec.Window.Ticks;
        if (index == _index)
        {
            return;
        }

        (_previous, _current) = index == _index + 1 ? (_current, 0) : (0, 0);
        _index = index;
    }
}
