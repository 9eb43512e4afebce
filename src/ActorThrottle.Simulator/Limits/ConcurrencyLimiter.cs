namespace ActorThrottle.Simulator;

/// <summary>At most quota requests in flight; a request over it is rejected with no hint of when to come back.</summary>
internal sealed class ConcurrencyLimiter : Limiter
{
    private int _inFlight;

    public ConcurrencyLimiter(LimitSpec spec)
        : base(spec, chargeRejected: false)
    {
    }

    public int InFlight => _inFlight;

    private int Cap => Math.Max(1, (int)Math.Floor(Quota + Epsilon));

    public override LimitCheck Check(DateTimeOffset now, double cost) =>
        _inFlight < Cap ? LimitCheck.Admit : LimitCheck.Reject(TimeSpan.Zero);

    public override void Charge(DateTimeOffset now, double cost, bool admitted)
    {
        if (admitted)
        {
            _inFlight++;
        }
    }

    public override void Release() => _inFlight = Math.Max(0, _inFlight - 1);

    public override LimitFacts Facts(DateTimeOffset now) =>
        new(Spec.DisplayName, Spec.Algorithm, Spec.Unit, Cap, TimeSpan.Zero, Math.Max(0, Cap - _inFlight), TimeSpan.Zero, TimeSpan.Zero);
}
