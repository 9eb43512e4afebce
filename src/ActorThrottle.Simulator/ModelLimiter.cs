namespace ActorThrottle.Simulator;

/// <summary>Which limit rejected a request.</summary>
internal enum LimitKind
{
    None,
    Requests,
    Tokens,

    /// <summary>A concurrency cap: too many requests in flight.</summary>
    Concurrency,
}

/// <summary>The facts the OpenAI <c>x-ratelimit-*</c> headers carry: per unit, the limit with the least left.</summary>
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
/// <param name="Admitted">Every limit admitted the request (now, or after <paramref name="Delay"/>).</param>
/// <param name="RejectedBy">The kind of the first limit that rejected it.</param>
/// <param name="TooLarge">It can never fit a limit: no retry-after, nothing charged.</param>
/// <param name="RetryAfter">When rejected: the wait until every limit would admit it.</param>
/// <param name="TokensCharged">Tokens counted against the token limits.</param>
/// <param name="LimitName">OpenAI's name of the rejecting limit ("requests per min (RPM)").</param>
/// <param name="Limit">The rejecting limit's quota.</param>
/// <param name="Requested">What the request asked of it.</param>
/// <param name="Delay">An admitted request is held this long first (a GCRA queue).</param>
/// <param name="HoldsConcurrency">Admitted by a concurrency limit: <see cref="ModelLimiter.Release"/> must follow once it is answered.</param>
/// <param name="Facts">When rejected: every limit's facts after the decision (the 429's headers). An admitted request's
/// headers are taken when it is answered, so none are gathered here.</param>
internal readonly record struct Admission(
    bool Admitted,
    LimitKind RejectedBy,
    bool TooLarge,
    TimeSpan RetryAfter,
    double TokensCharged,
    string LimitName,
    double Limit,
    double Requested,
    TimeSpan Delay = default,
    bool HoldsConcurrency = false,
    IReadOnlyList<LimitFacts>? Facts = null);

/// <summary>
/// A model's limits, checked together when a request arrives: the legacy per-second, per-minute and token buckets of
/// <see cref="ModelSettings"/> first, then <see cref="ModelSettings.Limits"/>. A request is admitted when every limit
/// admits it; a rejected one is counted by the limits that charge rejections. Not thread-safe: the owning model's
/// lock guards it.
/// </summary>
internal sealed class ModelLimiter
{
    private readonly TimeProvider _time;
    private List<Limiter> _limiters = [];
    private double _factor = 1;
    private bool _chargeRejected;

    public ModelLimiter(ModelSettings settings, TimeProvider time)
    {
        _time = time;
        Reconfigure(settings);
    }

    /// <summary>The limiters in checking order.</summary>
    public IReadOnlyList<Limiter> Limiters => _limiters;

    /// <summary>The limits a model's settings describe, legacy fields first.</summary>
    public static IReadOnlyList<LimitSpec> SpecsOf(ModelSettings settings)
    {
        var specs = new List<LimitSpec>();
        if (settings.RequestsPerSecond > 0)
        {
            specs.Add(new LimitSpec { Quota = settings.RequestsPerSecond, Window = TimeSpan.FromSeconds(1), Burst = settings.RequestsPerSecondBurst });
        }

        if (settings.RequestsPerMinute > 0)
        {
            specs.Add(new LimitSpec { Quota = settings.RequestsPerMinute, Window = TimeSpan.FromMinutes(1), Burst = settings.RequestsPerMinuteBurst });
        }

        if (settings.TokensPerMinute > 0)
        {
            specs.Add(new LimitSpec { Unit = LimitUnit.Tokens, Quota = settings.TokensPerMinute, Window = TimeSpan.FromMinutes(1), Burst = settings.TokensBurst });
        }

        specs.AddRange(settings.Limits);
        return specs;
    }

    /// <summary>Applies new limits; a limit of the same algorithm, unit and window at the same place keeps its state, new ones start whole.</summary>
    public void Reconfigure(ModelSettings settings)
    {
        var now = _time.GetUtcNow();
        _chargeRejected = settings.ChargeRejected;
        var specs = SpecsOf(settings);
        var next = new List<Limiter>(specs.Count);
        for (var i = 0; i < specs.Count; i++)
        {
            var spec = specs[i];
            var charge = spec.ChargeRejected ?? settings.ChargeRejected;
            if (i < _limiters.Count && _limiters[i].Matches(spec))
            {
                _limiters[i].Reconfigure(now, spec, charge);
                next.Add(_limiters[i]);
            }
            else
            {
                var limiter = Limiter.Create(spec, charge, now);
                limiter.Rescale(now, _factor);
                next.Add(limiter);
            }
        }

        _limiters = next;
    }

    /// <summary>Multiplies every quota by <paramref name="factor"/> (a scripted schedule step).</summary>
    public void Rescale(double factor)
    {
        var now = _time.GetUtcNow();
        _factor = factor;
        foreach (var limiter in _limiters)
        {
            limiter.Rescale(now, factor);
        }
    }

    /// <summary>Admits a request costing one request and <paramref name="tokenCost"/> tokens, or says why not and for how long.</summary>
    public Admission TryAdmit(double tokenCost)
    {
        var now = _time.GetUtcNow();
        Limiter? rejecter = null;
        var delay = TimeSpan.Zero;
        foreach (var limiter in _limiters)
        {
            var check = limiter.Check(now, CostFor(limiter, tokenCost));
            if (check.NeverFits)
            {
                // It could never fit: waiting would not help, so nothing is charged and no retry-after is given.
                return new Admission(false, KindOf(limiter), true, TimeSpan.Zero, 0, MessageName(limiter.Spec), limiter.Quota, CostFor(limiter, tokenCost), Facts: FactsAt(now));
            }

            if (!check.Allowed)
            {
                rejecter ??= limiter;
            }
            else if (check.Delay > delay)
            {
                delay = check.Delay;
            }
        }

        var admitted = rejecter is null;
        var tokensCharged = 0.0;
        var holds = false;
        foreach (var limiter in _limiters)
        {
            if (admitted || limiter.ChargeRejected)
            {
                limiter.Charge(now, CostFor(limiter, tokenCost), admitted);
                holds |= admitted && limiter.Spec.Algorithm == LimitAlgorithm.Concurrency;
            }
        }

        // The statistics' token count follows the model's rule, unless a token limit says otherwise.
        if (admitted || _chargeRejected || _limiters.Any(l => l.ChargeRejected && l.Spec.Unit == LimitUnit.Tokens))
        {
            tokensCharged = tokenCost;
        }

        var retryAfter = TimeSpan.Zero;
        if (!admitted)
        {
            // Every limit must admit at once, so the wait is the longest of them (after any charge).
            foreach (var limiter in _limiters)
            {
                var check = limiter.Check(now, CostFor(limiter, tokenCost));
                if (!check.Allowed && check.RetryAfter > retryAfter)
                {
                    retryAfter = check.RetryAfter;
                }
            }
        }

        return admitted
            ? new Admission(true, LimitKind.None, false, TimeSpan.Zero, tokensCharged, string.Empty, 0, 0, delay, holds)
            : new Admission(false, KindOf(rejecter!), false, retryAfter, tokensCharged, MessageName(rejecter!.Spec), rejecter.Quota, CostFor(rejecter, tokenCost), Facts: FactsAt(now));
    }

    /// <summary>Gives unused tokens back (reconcile accounting).</summary>
    public void Refund(double tokens)
    {
        if (tokens <= 0)
        {
            return;
        }

        var now = _time.GetUtcNow();
        foreach (var limiter in _limiters.Where(l => l.Spec.Unit == LimitUnit.Tokens))
        {
            limiter.Refund(now, tokens);
        }
    }

    /// <summary>An admitted request that held a concurrency slot has been answered.</summary>
    public void Release()
    {
        foreach (var limiter in _limiters)
        {
            limiter.Release();
        }
    }

    /// <summary>Every limit's facts now.</summary>
    public IReadOnlyList<LimitFacts> Facts() => FactsAt(_time.GetUtcNow());

    /// <summary>The OpenAI header facts now; of two request limits, the one with less left is reported.</summary>
    public RateLimitState State() => StateOf(Facts());

    /// <summary>Per unit, the facts of the limit with the least left (tie: the longer reset); concurrency caps never count.</summary>
    public static LimitFacts? Tightest(IReadOnlyList<LimitFacts> facts, LimitUnit unit)
    {
        LimitFacts? best = null;
        foreach (var f in facts)
        {
            if (f.Unit != unit || f.Algorithm == LimitAlgorithm.Concurrency)
            {
                continue;
            }

            if (best is not { } b || f.Remaining < b.Remaining || (f.Remaining == b.Remaining && f.Reset > b.Reset))
            {
                best = f;
            }
        }

        return best;
    }

    private static RateLimitState StateOf(IReadOnlyList<LimitFacts> facts)
    {
        var requests = Tightest(facts, LimitUnit.Requests);
        var tokens = Tightest(facts, LimitUnit.Tokens);
        return new RateLimitState(
            requests is not null,
            requests is { } r ? (long)Math.Round(r.Quota) : 0,
            requests?.Remaining ?? 0,
            requests?.Reset ?? TimeSpan.Zero,
            tokens is not null,
            tokens is { } t ? (long)Math.Round(t.Quota) : 0,
            tokens?.Remaining ?? 0,
            tokens?.Reset ?? TimeSpan.Zero);
    }

    private static double CostFor(Limiter limiter, double tokenCost) => limiter.Spec.Unit == LimitUnit.Tokens ? tokenCost : 1;

    private static LimitKind KindOf(Limiter limiter) =>
        limiter.Spec.Algorithm == LimitAlgorithm.Concurrency ? LimitKind.Concurrency
        : limiter.Spec.Unit == LimitUnit.Tokens ? LimitKind.Tokens : LimitKind.Requests;

    /// <summary>OpenAI's names in 429 messages ("requests per min (RPM)"), which clients parse to tell requests from tokens.</summary>
    private static string MessageName(LimitSpec spec)
    {
        if (spec.Algorithm == LimitAlgorithm.Concurrency)
        {
            return "concurrent requests";
        }

        var unit = spec.Unit == LimitUnit.Tokens ? "tokens" : "requests";
        var u = spec.Unit == LimitUnit.Tokens ? 'T' : 'R';
        return spec.Window == TimeSpan.FromSeconds(1) ? $"{unit} per sec ({u}PS)"
            : spec.Window == TimeSpan.FromMinutes(1) ? $"{unit} per min ({u}PM)"
            : spec.Window == TimeSpan.FromDays(1) ? $"{unit} per day ({u}PD)"
            : $"{unit} per {spec.Window.TotalSeconds:0.###}s";
    }

    private List<LimitFacts> FactsAt(DateTimeOffset now)
    {
        var facts = new List<LimitFacts>(_limiters.Count);
        foreach (var limiter in _limiters)
        {
            facts.Add(limiter.Facts(now));
        }

        return facts;
    }
}
