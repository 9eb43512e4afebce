namespace ActorThrottle.Simulator;

/// <summary>
/// A token bucket: refills at <see cref="RefillPerSecond"/> up to <see cref="Capacity"/>, starts full.
/// Not thread-safe: the owning model's lock guards it.
/// </summary>
internal sealed class TokenBucket
{
    // Rounding in refill arithmetic must not turn an exactly-refilled bucket into a rejection.
    internal const double Epsilon = 1e-9;

    private readonly TimeProvider _time;
    private double _level;
    private long _lastTimestamp;

    public TokenBucket(double capacity, double refillPerSecond, TimeProvider time)
    {
        Check(capacity, refillPerSecond);
        _time = time;
        Capacity = capacity;
        RefillPerSecond = refillPerSecond;
        _level = capacity;
        _lastTimestamp = time.GetTimestamp();
    }

    public double Capacity { get; private set; }

    public double RefillPerSecond { get; private set; }

    /// <summary>The level now (negative after charging rejected requests into debt).</summary>
    public double Level
    {
        get
        {
            Refill();
            return _level;
        }
    }

    public bool CanTake(double amount) => Level + Epsilon >= amount;

    /// <summary>Takes <paramref name="amount"/>; the level may go negative but never below -capacity, so debt stays bounded.</summary>
    public void Take(double amount)
    {
        Refill();
        _level = Math.Max(-Capacity, _level - amount);
    }

    public void Refund(double amount)
    {
        Refill();
        _level = Math.Min(Capacity, _level + amount);
    }

    /// <summary>Time until <paramref name="amount"/> is available; <see cref="TimeSpan.MaxValue"/> if it exceeds the capacity.</summary>
    public TimeSpan TimeUntilAvailable(double amount)
    {
        if (amount > Capacity + Epsilon)
        {
            return TimeSpan.MaxValue;
        }

        return TimeToRefill(amount - Level);
    }

    /// <summary>Time until the bucket is full again (OpenAI's meaning of <c>x-ratelimit-reset-*</c>).</summary>
    public TimeSpan TimeUntilFull() => TimeToRefill(Capacity - Level);

    /// <summary>
    /// Changes rate and capacity while running. Accrual up to now uses the old rate; the level is then
    /// clamped to the new capacity, so lowering a limit never refills the bucket.
    /// </summary>
    public void Reconfigure(double capacity, double refillPerSecond)
    {
        Check(capacity, refillPerSecond);
        Refill();
        Capacity = capacity;
        RefillPerSecond = refillPerSecond;
        _level = Math.Clamp(_level, -capacity, capacity);
    }

    private TimeSpan TimeToRefill(double deficit)
    {
        if (deficit <= Epsilon)
        {
            return TimeSpan.Zero;
        }

        var ticks = Math.Ceiling(deficit / RefillPerSecond * TimeSpan.TicksPerSecond);
        return ticks >= TimeSpan.MaxValue.Ticks ? TimeSpan.MaxValue : TimeSpan.FromTicks((long)ticks);
    }

    private void Refill()
    {
        var now = _time.GetTimestamp();
        var elapsed = now - _lastTimestamp;
        if (elapsed <= 0)
        {
            return;
        }

        _lastTimestamp = now;
        _level = Math.Min(Capacity, _level + (double)elapsed / _time.TimestampFrequency * RefillPerSecond);
    }

    private static void Check(double capacity, double refillPerSecond)
    {
        if (!(capacity > 0) || !double.IsFinite(capacity))
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "Capacity must be a finite number > 0.");
        }

        if (!(refillPerSecond > 0) || !double.IsFinite(refillPerSecond))
        {
            throw new ArgumentOutOfRangeException(nameof(refillPerSecond), refillPerSecond, "Refill rate must be a finite number > 0.");
        }
    }
}
