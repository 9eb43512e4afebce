namespace ActorThrottle.Simulator;

/// <summary>
/// GCRA: a theoretical arrival time (TAT) advanced by one emission interval T = window ÷ quota per unit. A cost c
/// arriving at t is admitted when max(TAT, t) + c·T − t ≤ burst·T; with a queue, a request over that by at most
/// <see cref="LimitSpec.MaxDelay"/> is admitted after the excess (a leaky bucket that delays instead of rejecting).
/// </summary>
internal sealed class GcraLimiter : Limiter
{
    private const double TickSeconds = 1.0 / TimeSpan.TicksPerSecond;

    private DateTimeOffset? _tat;

    public GcraLimiter(LimitSpec spec, bool chargeRejected)
        : base(spec, chargeRejected)
    {
    }

    private double Burst => Spec.Burst ?? 1;

    /// <summary>Seconds per unit.</summary>
    private double Interval => 1 / RatePerSecond;

    public override LimitCheck Check(DateTimeOffset now, double cost)
    {
        if (cost > Burst + Epsilon)
        {
            return LimitCheck.TooLarge;
        }

        var excess = Excess(now, cost);
        // A tick of tolerance: instants are whole ticks, seconds are doubles.
        if (excess <= TickSeconds)
        {
            return LimitCheck.Admit;
        }

        return excess <= Spec.MaxDelay.TotalSeconds + TickSeconds ? LimitCheck.After(Seconds(excess)) : LimitCheck.Reject(Seconds(excess));
    }

    public override void Charge(DateTimeOffset now, double cost, bool admitted)
    {
        var start = Start(now);
        var next = start.AddSeconds(cost * Interval);
        if (!admitted)
        {
            // A charged rejection pushes the TAT on, but never more than one window past the tolerance: debt stays bounded.
            var cap = now.AddSeconds(Burst * Interval + Spec.Window.TotalSeconds);
            next = next > cap ? cap : next;
        }

        _tat = next;
    }

    public override void Refund(DateTimeOffset now, double amount)
    {
        if (_tat is { } tat)
        {
            var back = tat.AddSeconds(-amount * Interval);
            _tat = back < now ? now : back;
        }
    }

    public override LimitFacts Facts(DateTimeOffset now)
    {
        var start = Start(now);
        var used = (start - now).TotalSeconds;
        var remaining = Whole((Burst * Interval - used) / Interval);
        var next = remaining >= 1 ? TimeSpan.Zero : Seconds(Excess(now, 1));
        return new LimitFacts(Spec.DisplayName, Spec.Algorithm, Spec.Unit, Quota, Spec.Window, remaining, Seconds(used), next);
    }

    private DateTimeOffset Start(DateTimeOffset now) => _tat is { } tat && tat > now ? tat : now;

    /// <summary>Seconds by which <paramref name="cost"/> now would exceed the tolerance (≤ 0: admitted at once).</summary>
    private double Excess(DateTimeOffset now, double cost) =>
        (Start(now) - now).TotalSeconds + cost * Interval - Burst * Interval;
}
