namespace ActorThrottle.Throttling;

/// <summary>
/// The pure decision behind the adaptive throttle: a request bucket (rate, burst) and an optional token
/// bucket (tokens per minute, holding at most <see cref="TokenCapacity"/>), a pause, all on time passed in. Capacity of the request bucket is
/// <c>max(burst, rate · (tick + slack) + 1)</c>: the timer fires on ticks, and on a busy machine later than asked
/// (the slack, measured by the stage), so the bucket must hold everything that accrued between two firings on top of
/// the fraction left from the last release, or a small burst would cap the rate below the configured one (burst 1 at
/// 1,000/s with a capacity of rate · tick delivers about 810/s on the real scheduler). Over any window of length w
/// releases are at most <c>∫rate·dt + capacity</c>. Shrinking rate or burst clamps the level; it never refills it.
/// Tokens: an element costing more than the token capacity leaves once the bucket is full and is charged in full (the
/// level goes below zero), so it is never stuck and the token rate still holds: over any window tokens released are at
/// most <c>∫tokens-per-minute/60·dt + max(capacity, largest cost)</c>.
/// </summary>
internal sealed class ThrottleBuckets
{
    // Levels are sums of floating-point accruals; a level a hair below 1 is 1.
    private const double Epsilon = 1e-9;
    private DateTimeOffset _last;
    private double _requestLevel;
    private double _tokenLevel;
    private readonly long? _tokensBurst;

    /// <param name="rate">Requests per second (&gt; 0).</param>
    /// <param name="burst">Burst window (≥ 1).</param>
    /// <param name="tokensPerMinute">Token budget per minute; 0 for none.</param>
    /// <param name="tick">Timer resolution the stage runs at.</param>
    /// <param name="now">The instant the buckets start, full.</param>
    /// <param name="tokensBurst">Capacity of the token bucket (≥ 1); null: <see cref="Configuration.ModelSettings.DefaultTokensBurstSeconds"/>
    /// of the token rate in force, following it when it changes (a seed or AIMD), as <c>tokens-burst = 0</c> says.</param>
    public ThrottleBuckets(double rate, int burst, long tokensPerMinute, TimeSpan tick, DateTimeOffset now, long? tokensBurst = null)
    {
        Validate(rate, burst, tokensPerMinute);
        if (tokensBurst is { } b)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(b, 1, nameof(tokensBurst));
        }
        Rate = rate;
        Burst = burst;
        TokensPerMinute = tokensPerMinute;
        Tick = tick;
        _tokensBurst = tokensBurst;
        _last = now;
        _requestLevel = RequestCapacity;
        _tokenLevel = TokenCapacity;
    }

    public double Rate { get; private set; }
    public int Burst { get; private set; }
    public long TokensPerMinute { get; private set; }

    /// <summary>
    /// Most tokens the bucket holds (0 without a token limit): <c>tokens-burst</c>, or a second's worth of the token rate in
    /// force when none was given. Fixed at the configured rate, a number configured 2x too high and seeded down to the
    /// provider's stated limit kept two of the provider's seconds and spent them at once (virtual matrix, tokens-anthropic
    /// 2x: 17 token 429s in its first half second); a minute's worth, under auto, let a minute out after a quiet spell.
    /// </summary>
    public long TokenCapacity => TokensPerMinute == 0 ? 0
        : _tokensBurst ?? Configuration.ModelSettings.DefaultTokensBurst(TokensPerMinute);
    public TimeSpan Tick { get; }
    public DateTimeOffset PausedUntil { get; private set; } = DateTimeOffset.MinValue;

    /// <summary>How late the timer has recently fired (a decaying maximum, at most <see cref="MaxSlackTicks"/> ticks).</summary>
    public TimeSpan Slack { get; private set; } = TimeSpan.Zero;

    /// <summary>Slack is capped so one long pause (GC, a stalled machine) cannot license a large burst.</summary>
    public const int MaxSlackTicks = 5;

    /// <summary><c>max(burst, rate · (tick + slack) + 1)</c>.</summary>
    public double RequestCapacity => Math.Max(Burst, Rate * (Tick + Slack).TotalSeconds + 1);

    /// <summary>
    /// Records how much later than asked a timer fired. The slack jumps up to a larger lateness and decays slowly
    /// (by 1/16 per firing) towards smaller ones, so the capacity follows the scheduler's recent worst case.
    /// </summary>
    public void ObserveTimerLateness(TimeSpan lateness)
    {
        var max = Tick * MaxSlackTicks;
        var observed = lateness < TimeSpan.Zero ? TimeSpan.Zero : lateness > max ? max : lateness;
        Slack = observed >= Slack ? observed : Slack - (Slack - observed) / 16;
    }

    /// <summary>Requests that could leave now (before refilling to the current instant).</summary>
    public double RequestLevel => _requestLevel;

    /// <summary>Tokens available now (before refilling to the current instant).</summary>
    public double TokenLevel => _tokenLevel;

    /// <summary>
    /// Takes one request and <paramref name="cost"/> tokens if all buckets allow it now; otherwise takes
    /// nothing and returns the earliest instant at which they could.
    /// </summary>
    public DateTimeOffset? TryTake(DateTimeOffset now, long cost)
    {
        Refill(now);
        var charge = TokensPerMinute > 0 ? Math.Max(cost, 0) : 0;
        // A cost above the capacity waits for a full bucket (it could never wait for more) and is then charged in full.
        var needed = Math.Min(charge, TokenCapacity);
        var ready = now;
        if (PausedUntil > ready)
        {
            ready = PausedUntil;
        }
        if (_requestLevel < 1 - Epsilon)
        {
            var at = now + Seconds((1 - _requestLevel) / Rate);
            if (at > ready)
            {
                ready = at;
            }
        }
        if (needed > 0 && _tokenLevel < needed - Epsilon)
        {
            var at = now + Seconds((needed - _tokenLevel) / (TokensPerMinute / 60.0));
            if (at > ready)
            {
                ready = at;
            }
        }
        if (ready > now)
        {
            return ready;
        }
        _requestLevel -= 1;
        _tokenLevel -= charge;
        return null;
    }

    public void SetRate(DateTimeOffset now, double rate)
    {
        Validate(rate, Burst, TokensPerMinute);
        Refill(now);
        Rate = rate;
        _requestLevel = Math.Min(_requestLevel, RequestCapacity);
    }

    public void SetBurst(DateTimeOffset now, int burst)
    {
        Validate(Rate, burst, TokensPerMinute);
        Refill(now);
        Burst = burst;
        _requestLevel = Math.Min(_requestLevel, RequestCapacity);
    }

    /// <summary>
    /// Changes the token rate. The capacity stays <c>tokens-burst</c> when one was given (so lowering the rate after
    /// token 429s does not shrink the burst the provider allows); otherwise it follows the rate. The level is clamped,
    /// never refilled, except that a bucket that had no limit starts full.
    /// </summary>
    public void SetTokensPerMinute(DateTimeOffset now, long tokensPerMinute)
    {
        Validate(Rate, Burst, tokensPerMinute);
        Refill(now);
        var wasUnlimited = TokensPerMinute == 0;
        TokensPerMinute = tokensPerMinute;
        _tokenLevel = wasUnlimited ? TokenCapacity : Math.Min(_tokenLevel, TokenCapacity);
    }

    /// <summary>Holds every release until <paramref name="until"/>; an earlier instant than a pause already set is ignored.</summary>
    public void PauseUntil(DateTimeOffset until)
    {
        if (until > PausedUntil)
        {
            PausedUntil = until;
        }
    }

    /// <summary>
    /// Empties both buckets at <paramref name="now"/> (a token debt is kept): after an overload, what leaves next is only
    /// what accrues from now on.
    /// </summary>
    public void Empty(DateTimeOffset now)
    {
        Refill(now);
        _requestLevel = Math.Min(_requestLevel, 0);
        _tokenLevel = Math.Min(_tokenLevel, 0);
    }

    /// <summary>Gives back tokens a request reserved but did not use (reconcile accounting).</summary>
    public void Refund(DateTimeOffset now, long tokens)
    {
        if (tokens <= 0 || TokensPerMinute == 0)
        {
            return;
        }
        Refill(now);
        _tokenLevel = Math.Min(TokenCapacity, _tokenLevel + tokens);
    }

    // Rounded up to whole ticks so a wait never ends before the level is there.
    private static TimeSpan Seconds(double seconds) => TimeSpan.FromTicks((long)Math.Ceiling(seconds * TimeSpan.TicksPerSecond));

    private void Refill(DateTimeOffset now)
    {
        if (now <= _last)
        {
            return;
        }
        var seconds = (now - _last).TotalSeconds;
        _last = now;
        _requestLevel = Math.Min(RequestCapacity, _requestLevel + seconds * Rate);
        if (TokensPerMinute > 0)
        {
            _tokenLevel = Math.Min(TokenCapacity, _tokenLevel + seconds * TokensPerMinute / 60.0);
        }
    }

    private static void Validate(double rate, int burst, long tokensPerMinute)
    {
        if (!(rate > 0) || double.IsInfinity(rate))
        {
            throw new ArgumentOutOfRangeException(nameof(rate), rate, "The rate must be a positive number of requests per second.");
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(burst, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(tokensPerMinute);
    }
}
