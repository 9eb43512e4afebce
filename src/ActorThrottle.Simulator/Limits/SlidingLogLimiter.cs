namespace ActorThrottle.Simulator;

/// <summary>Keeps the instant and cost of every counted hit; admits while the hits of the last window leave room.</summary>
internal sealed class SlidingLogLimiter : Limiter
{
    // Charged rejections could grow the log without end under a storm; past this many entries the oldest go first.
    private const int MaxEntries = 100_000;

    private readonly LinkedList<(DateTimeOffset At, double Cost)> _log = new();
    private double _sum;

    public SlidingLogLimiter(LimitSpec spec, bool chargeRejected)
        : base(spec, chargeRejected)
    {
    }

    public override LimitCheck Check(DateTimeOffset now, double cost)
    {
        if (cost > Quota + Epsilon)
        {
            return LimitCheck.TooLarge;
        }

        Expire(now);
        return _sum + cost <= Quota + Epsilon ? LimitCheck.Admit : LimitCheck.Reject(WaitFor(now, cost));
    }

    public override void Charge(DateTimeOffset now, double cost, bool admitted)
    {
        Expire(now);
        _log.AddLast((now, cost));
        _sum += cost;
        if (_log.Count > MaxEntries)
        {
            _sum -= _log.First!.Value.Cost;
            _log.RemoveFirst();
        }
    }

    public override void Refund(DateTimeOffset now, double amount)
    {
        // The refunded request's own entry is not tracked; the newest entries give the units back, which keeps the sum right.
        Expire(now);
        for (var node = _log.Last; node is not null && amount > 0; node = node.Previous)
        {
            var back = Math.Min(amount, node.Value.Cost);
            node.Value = (node.Value.At, node.Value.Cost - back);
            _sum -= back;
            amount -= back;
        }
    }

    public override LimitFacts Facts(DateTimeOffset now)
    {
        Expire(now);
        var remaining = Whole(Quota - _sum);
        var reset = _log.Last is { } newest ? newest.Value.At + Spec.Window - now : TimeSpan.Zero;
        return new LimitFacts(Spec.DisplayName, Spec.Algorithm, Spec.Unit, Quota, Spec.Window, remaining, reset, remaining >= 1 ? TimeSpan.Zero : WaitFor(now, 1));
    }

    /// <summary>Until enough of the oldest hits leave the window for <paramref name="cost"/> to fit.</summary>
    private TimeSpan WaitFor(DateTimeOffset now, double cost)
    {
        var sum = _sum;
        foreach (var (at, entryCost) in _log)
        {
            sum -= entryCost;
            if (sum + cost <= Quota + Epsilon)
            {
                return at + Spec.Window - now;
            }
        }

        return TimeSpan.Zero;
    }

    private void Expire(DateTimeOffset now)
    {
        while (_log.First is { } oldest && oldest.Value.At + Spec.Window <= now)
        {
            _sum -= oldest.Value.Cost;
            _log.RemoveFirst();
        }

        if (_log.Count == 0)
        {
            _sum = 0;
        }
    }
}
