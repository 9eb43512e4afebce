namespace ActorThrottle.Simulator;

/// <summary>Which limit rejected a request.</summary>
internal enum LimitKind
{
    None,
    Requests,
    Tokens,
}

/// <summary>The facts the <c>x-ratelimit-*</c> headers carry.</summary>
internal readonly record struct RateLimitState(
    bool HasRequests,
    long RequestLimit,
    long RequestsRemaining,
    TimeSpan RequestsReset,
    bool HasTokens,
    long TokenLimit,
    long TokensRemaining,
    TimeSpan TokensReset);

/// <summary>The outcome of <see cref="ModelLimiter.TryAdmit"/>.</summary>
internal readonly record struct Admission(
    bool Admitted,
    LimitKind RejectedBy,
    bool TooLarge,
    TimeSpan RetryAfter,
    double TokensCharged,
    string LimitName,
    double Limit,
    double Requested,
    RateLimitState State);

/// <summary>
/// A model's request and token buckets, checked together when a request arrives.
/// Not thread-safe: the owning model's lock guards it.
/// </summary>
internal sealed class ModelLimiter
{
    private readonly TimeProvider _time;
    private TokenBucket? _perSecond;
    private TokenBucket? _perMinute;
    private TokenBucket? _tokens;
    private ModelSettings _settings;

    public ModelLimiter(ModelSettings settings, TimeProvider time)
    {
        _time = time;
        _settings = settings;
        Reconfigure(settings);
    }

    public TokenBucket? PerSecond => _perSecond;

    public TokenBucket? PerMinute => _perMinute;

    public TokenBucket? Tokens => _tokens;

    /// <summary>Applies new limits; existing buckets keep their level (clamped), new ones start full.</summary>
    public void Reconfigure(ModelSettings settings)
    {
        _settings = settings;
        _perSecond = Rebuild(_perSecond, settings.RequestsPerSecond, settings.RequestsPerSecondBurst, settings.RequestsPerSecond);
        _perMinute = Rebuild(_perMinute, settings.RequestsPerMinute, settings.RequestsPerMinuteBurst, settings.RequestsPerMinute / 60.0);
        _tokens = Rebuild(_tokens, settings.TokensPerMinute, settings.TokensBurst, settings.TokensPerMinute / 60.0);
    }

    /// <summary>Admits a request costing one request and <paramref name="tokenCost"/> tokens, or says why not and for how long.</summary>
    public Admission TryAdmit(double tokenCost)
    {
        if (_tokens is { } tooSmall && tokenCost > tooSmall.Capacity + TokenBucket.Epsilon)
        {
            // It could never fit: waiting would not help, so nothing is charged and no retry-after is given.
            return new Admission(false, LimitKind.Tokens, true, TimeSpan.Zero, 0, "tokens per min (TPM)", tooSmall.Capacity, tokenCost, State());
        }

        var rejectedBy = LimitKind.None;
        string limitName = string.Empty;
        double limit = 0, requested = 0;
        if (_perSecond is { } rps && !rps.CanTake(1))
        {
            (rejectedBy, limitName, limit, requested) = (LimitKind.Requests, "requests per sec (RPS)", _settings.RequestsPerSecond, 1);
        }
        else if (_perMinute is { } rpm && !rpm.CanTake(1))
        {
            (rejectedBy, limitName, limit, requested) = (LimitKind.Requests, "requests per min (RPM)", _settings.RequestsPerMinute, 1);
        }
        else if (_tokens is { } tpm && !tpm.CanTake(tokenCost))
        {
            (rejectedBy, limitName, limit, requested) = (LimitKind.Tokens, "tokens per min (TPM)", _settings.TokensPerMinute, tokenCost);
        }

        var admitted = rejectedBy == LimitKind.None;
        var charge = admitted || _settings.ChargeRejected;
        if (charge)
        {
            _perSecond?.Take(1);
            _perMinute?.Take(1);
            _tokens?.Take(tokenCost);
        }

        var retryAfter = TimeSpan.Zero;
        if (!admitted)
        {
            // Every bucket must hold enough at once, so the wait is the longest of them (after any charge).
            retryAfter = Max(
                _perSecond?.TimeUntilAvailable(1) ?? TimeSpan.Zero,
                _perMinute?.TimeUntilAvailable(1) ?? TimeSpan.Zero,
                _tokens?.TimeUntilAvailable(tokenCost) ?? TimeSpan.Zero);
        }

        return new Admission(admitted, rejectedBy, false, retryAfter, charge ? tokenCost : 0, limitName, limit, requested, State());
    }

    /// <summary>Gives unused tokens back (reconcile accounting).</summary>
    public void Refund(double tokens)
    {
        if (tokens > 0)
        {
            _tokens?.Refund(tokens);
        }
    }

    /// <summary>The current header facts; of two request buckets, the one with less left is reported.</summary>
    public RateLimitState State()
    {
        TokenBucket? requests = null;
        double requestLimit = 0;
        if (_perMinute is { } rpm)
        {
            (requests, requestLimit) = (rpm, _settings.RequestsPerMinute);
        }

        if (_perSecond is { } rps && (requests is null || rps.Level < requests.Level))
        {
            (requests, requestLimit) = (rps, _settings.RequestsPerSecond);
        }

        var tokens = _tokens;
        return new RateLimitState(
            requests is not null,
            (long)Math.Round(requestLimit),
            requests is null ? 0 : Remaining(requests),
            requests?.TimeUntilFull() ?? TimeSpan.Zero,
            tokens is not null,
            (long)Math.Round(_settings.TokensPerMinute),
            tokens is null ? 0 : Remaining(tokens),
            tokens?.TimeUntilFull() ?? TimeSpan.Zero);
    }

    private static long Remaining(TokenBucket bucket) => (long)Math.Floor(Math.Max(0, bucket.Level) + TokenBucket.Epsilon);

    private static TimeSpan Max(TimeSpan a, TimeSpan b, TimeSpan c) => a > b ? (a > c ? a : c) : (b > c ? b : c);

    private TokenBucket? Rebuild(TokenBucket? existing, double limit, double? burst, double refillPerSecond)
    {
        if (limit <= 0)
        {
            return null;
        }

        var capacity = burst ?? limit;
        if (existing is null)
        {
            return new TokenBucket(capacity, refillPerSecond, _time);
        }

        existing.Reconfigure(capacity, refillPerSecond);
        return existing;
    }
}
