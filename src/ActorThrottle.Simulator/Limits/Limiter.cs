namespace ActorThrottle.Simulator;

/// <summary>The answer of one limit to one request.</summary>
/// <param name="Allowed">Admitted now, or after <paramref name="Delay"/>.</param>
/// <param name="Delay">How long an admitted request is held first (a GCRA queue); zero otherwise.</param>
/// <param name="RetryAfter">When not allowed: the wait until the same request would be admitted (zero when unknown).</param>
/// <param name="NeverFits">The cost exceeds what the limit can ever hold: waiting cannot help.</param>
internal readonly record struct LimitCheck(bool Allowed, TimeSpan Delay, TimeSpan RetryAfter, bool NeverFits)
{
    public static LimitCheck Admit => new(true, TimeSpan.Zero, TimeSpan.Zero, false);

    public static LimitCheck After(TimeSpan delay) => new(true, delay, TimeSpan.Zero, false);

    public static LimitCheck Reject(TimeSpan retryAfter) => new(false, TimeSpan.Zero, retryAfter < TimeSpan.Zero ? TimeSpan.Zero : retryAfter, false);

    public static LimitCheck TooLarge => new(false, TimeSpan.Zero, TimeSpan.Zero, true);
}

/// <summary>
/// One limit's state machine. Instants come in as arguments, so every algorithm is exact on virtual time.
/// Not thread-safe: the owning model's lock guards it.
/// </summary>
internal abstract class Limiter
{
    // Rounding in refill arithmetic must not turn an exactly-refilled limit into a rejection.
    protected const double Epsilon = 1e-9;

    protected Limiter(LimitSpec spec, bool chargeRejected)
    {
        Spec = spec;
        ChargeRejected = chargeRejected;
    }

    public LimitSpec Spec { get; private set; }

    /// <summary>Whether a rejected request is counted against this limit.</summary>
    public bool ChargeRejected { get; private set; }

    /// <summary>The schedule's multiplier of the quota.</summary>
    public double Factor { get; private set; } = 1;

    /// <summary>The quota now, schedule applied.</summary>
    public double Quota => Spec.Quota * Factor;

    /// <summary>Units per second the quota allows over time.</summary>
    protected double RatePerSecond => Quota / Spec.Window.TotalSeconds;

    /// <summary>Whether <paramref name="cost"/> units would be admitted at <paramref name="now"/> (nothing changes).</summary>
    public abstract LimitCheck Check(DateTimeOffset now, double cost);

    /// <summary>Counts <paramref name="cost"/> units (an admitted request, or a rejected one when charged).</summary>
    public abstract void Charge(DateTimeOffset now, double cost, bool admitted);

    /// <summary>Gives back units counted earlier (reconcile accounting).</summary>
    public virtual void Refund(DateTimeOffset now, double amount)
    {
    }

    /// <summary>A request admitted by this limit has finished (concurrency limits only).</summary>
    public virtual void Release()
    {
    }

    /// <summary>What the limit reports now.</summary>
    public abstract LimitFacts Facts(DateTimeOffset now);

    /// <summary>Takes new settings (same algorithm, unit and window) keeping the state counted so far.</summary>
    public void Reconfigure(DateTimeOffset now, LimitSpec spec, bool chargeRejected)
    {
        Settle(now);
        Spec = spec;
        ChargeRejected = chargeRejected;
        Adjusted(now);
    }

    /// <summary>Applies a schedule factor; lowering a limit never adds to what is available.</summary>
    public void Rescale(DateTimeOffset now, double factor)
    {
        Settle(now);
        Factor = factor;
        Adjusted(now);
    }

    /// <summary>Whether <paramref name="spec"/> can take over this limiter's state.</summary>
    public bool Matches(LimitSpec spec) =>
        spec.Algorithm == Spec.Algorithm && spec.Unit == Spec.Unit && spec.Window == Spec.Window && spec.WindowStart == Spec.WindowStart;

    /// <summary>Builds the limiter of <paramref name="spec"/>.</summary>
    public static Limiter Create(LimitSpec spec, bool chargeRejected, DateTimeOffset now) => spec.Algorithm switch
    {
        LimitAlgorithm.TokenBucket => new TokenBucketLimiter(spec, chargeRejected, now),
        LimitAlgorithm.Gcra => new GcraLimiter(spec, chargeRejected),
        LimitAlgorithm.FixedWindow => new FixedWindowLimiter(spec, chargeRejected),
        LimitAlgorithm.SlidingLog => new SlidingLogLimiter(spec, chargeRejected),
        LimitAlgorithm.SlidingWindowCounter => new SlidingWindowCounterLimiter(spec, chargeRejected),
        LimitAlgorithm.Concurrency => new ConcurrencyLimiter(spec),
        _ => throw new ArgumentOutOfRangeException(nameof(spec), spec.Algorithm, "Unknown limit algorithm."),
    };

    /// <summary>Brings time-dependent state up to <paramref name="now"/> under the old settings.</summary>
    protected virtual void Settle(DateTimeOffset now)
    {
    }

    /// <summary>Clamps state to new settings.</summary>
    protected virtual void Adjusted(DateTimeOffset now)
    {
    }

    protected static TimeSpan Seconds(double seconds) =>
        seconds <= 0 ? TimeSpan.Zero
        : seconds * TimeSpan.TicksPerSecond >= TimeSpan.MaxValue.Ticks ? TimeSpan.MaxValue
        : TimeSpan.FromTicks((long)Math.Ceiling(seconds * TimeSpan.TicksPerSecond - 1e-6));

    protected static long Whole(double units) => (long)Math.Floor(Math.Max(0, units) + Epsilon);
}
