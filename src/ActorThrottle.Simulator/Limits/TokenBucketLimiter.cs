namespace ActorThrottle.Simulator;

/// <summary>Refills at quota ÷ window per second up to its capacity (the burst); starts full; charged rejections go into bounded debt.</summary>
internal sealed class TokenBucketLimiter : Limiter
{
    private double _level;
    private DateTimeOffset _last;

    public TokenBucketLimiter(LimitSpec spec, bool chargeRejected, DateTimeOffset now)
        : base(spec, chargeRejected)
    {
        _level = Capacity;
        _last = now;
    }

    public double Capacity => (Spec.Burst ?? Spec.Quota) * Factor;

    public double Level(DateTimeOffset now)
    {
        Settle(now);
        return _level;
    }

    public override LimitCheck Check(DateTimeOffset now, double cost)
    {
        if (cost > Capacity + Epsilon)
        {
            return LimitCheck.TooLarge;
        }

        var level = Level(now);
        return level + Epsilon >= cost ? LimitCheck.Admit : LimitCheck.Reject(Seconds((cost - level) / RatePerSecond));
    }

    public override void Charge(DateTimeOffset now, double cost, bool admitted)
    {
        Settle(now);
        _level = Math.Max(-Capacity, _level - cost);
    }

    public override void Refund(DateTimeOffset now, double amount)
    {
        Settle(now);
        _level = Math.Min(Capacity, _level + amount);
    }

    public override LimitFacts Facts(DateTimeOffset now)
    {
        var level = Level(now);
        var next = level + Epsilon >= 1 ? TimeSpan.Zero : Seconds((1 - level) / RatePerSecond);
        return new LimitFacts(Spec.DisplayName, Spec.Algorithm, Spec.Unit, Quota, Spec.Window, Whole(level), Seconds((Capacity - level) / RatePerSecond), next);
    }

    protected override void Settle(DateTimeOffset now)
    {
        var elapsed = (now - _last).TotalSeconds;
        if (elapsed <= 0)
        {
            return;
        }

        _last = now;
        _level = Math.Min(Capacity, _level + elapsed * RatePerSecond);
    }

    protected override void Adjusted(DateTimeOffset now) => _level = Math.Clamp(_level, -Capacity, Capacity);
}
