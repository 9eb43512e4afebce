using System.Globalization;
using ActorThrottle.Backend;
using ActorThrottle.Configuration;

namespace ActorThrottle.Adaptation;

/// <summary>
/// The one home of a model's rate control. Outcomes go in (<see cref="RateOutcome"/>: success, 429 with its headers and
/// cause, transient, … each with the instants it was sent and answered); throttle settings and pauses come out
/// (<see cref="RateDecision"/>), each change with its reason. It composes AIMD on the request rate and burst
/// (<see cref="AimdController"/>), AIMD on the token rate (<see cref="TokenRateController"/>), the overload rule
/// (<see cref="OverloadDetector"/>, <see cref="OverloadPause"/>) and the header pause (<see cref="RateLimitPause"/>).
/// Pure state machine: time comes in with the outcomes, so a recorded sequence replays to the same decisions.
/// </summary>
internal sealed partial class RateController
{
    // Not readonly: SetLimits (RateController.Limits.cs) replaces it when a model's limits change at run time.
    private ModelSettings _settings;
    private readonly AimdController _aimd;
    private TokenRateController? _tokens;
    // requests-per-second = auto, nothing advertised yet: multiplicative growth per round of successes; null with a configured rate.
    private SlowStart? _slowStart;
    private double? _seededRate;
    // The rate of slow start's last round that was all accepted (the rate before its last doubling); null before one.
    private double? _slowStartAccepted;
    private double? _seededTokens;
    // A 429 (not an echo of an overload) has come: seeds no longer raise the rate.
    private bool _seenRateLimited;
    private DateTimeOffset _lastHintRaise = DateTimeOffset.MinValue;
    // A bucket read from one response ((limit - remaining) / reset) is noisy — a few ms of reset, remaining raced by calls
    // in flight — so seeds follow the median of the last readings, never one reading alone.
    private readonly MedianOfRecent _advertisedRates = new(SeedReadings, SeedMinReadings);
    private readonly MedianOfRecent _advertisedTokens = new(SeedReadings, SeedMinReadings);
    private readonly BucketReadings _bucketReadings = new();
    // A fixed window's end, read at the answer and at the send instant (WindowReadings).
    private readonly WindowReadings _windowAtAnswer = new();
    private readonly WindowReadings _windowAtSend = new();
    private readonly OverloadDetector _overload;
    // Send instants of the latest answered calls, accepted or rejected: when a window of known quota must have ended (WindowEndAtLatest).
    private readonly RecentInstants _hits = new(RecentInstants.MaxCapacity);
    // Attempts sent up to this instant are echoes of the overload the model last paused for; see RateLimited.
    private DateTimeOffset _overloadPausedAt = DateTimeOffset.MinValue;
    private DateTimeOffset _overloadPausedUntil = DateTimeOffset.MinValue;
    private int _overloadPauses;
    // The same rule over server errors (500-504, 529): most attempts failing is an outage, which pauses the model, not its rate.
    private readonly OverloadDetector _outage;
    private DateTimeOffset _outagePausedAt = DateTimeOffset.MinValue;
    private DateTimeOffset _outagePausedUntil = DateTimeOffset.MinValue;
    private int _outagePauses;
    // When the model's first answer came: attempts sent before it went out blind, in the opening burst.
    private DateTimeOffset? _firstAnswerAt;
    // The most a bucket without a window (limit, remaining, reset) was seen holding: its burst tolerance, when below its limit.
    private long? _maxRemaining;
    private DateTimeOffset _lastBurstCap = DateTimeOffset.MinValue;
    // The highest rate the provider was seen holding for HoldSpan without a 429 (null before, and after an overload); see Held.
    private double? _heldRate;
    // The highest rate ever held (Held): a configured model whose limit dropped and came back slow-starts back to it.
    private double? _highestHeld;
    // Where a slow start back to the highest held rate ends (null: an auto slow start, which ends at a 429 or a seed).
    private double? _slowStartCap;
    // The rate an exact seed last set: the provider's own statement of its pace; by a policy (restated on every answer).
    private double? _statedRate;
    private bool _statedByPolicy;
    // An overload under the stated pace has slow-started back to it once (see RateLimited).
    private bool _statedPaceRegrown;
    // When an exact seed last lowered the rate: 429s of attempts sent before it change nothing.
    private DateTimeOffset _exactSeedLoweredAt = DateTimeOffset.MinValue;
    private DateTimeOffset? _cleanSince;
    private double _cleanMinRate;
    private int _cleanSuccesses;
    private double _lastHeldCheckRate;
    private DateTimeOffset _rateRaisedAt = DateTimeOffset.MinValue;

    /// <param name="start">The AIMD state to start from (cluster mode: a conservative burst after a move); null: the configured values.</param>
    public RateController(ModelSettings settings, AimdState? start = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        var limits = AimdLimits.From(settings);
        if (settings.AutoRate)
        {
            // No ceiling to start from: start at adapt.auto-start-rate (RequestsPerSecond holds it) and probe upward.
            _aimd = new AimdController(limits, new AimdState(start?.Burst ?? settings.MaxBurst, Math.Min(start?.Rate ?? settings.RequestsPerSecond, settings.RequestsPerSecond)));
            _slowStart = new SlowStart(DateTimeOffset.MinValue);
            Origin = RateOrigin.Probed;
        }
        else
        {
            _aimd = start is { } s ? new AimdController(limits, s) : new AimdController(limits);
        }
        _tokens = TokenRateLimits.From(settings) is { } tokenLimits ? new TokenRateController(tokenLimits) : null;
        _overload = new OverloadDetector(settings.Adapt.CoolDown);
        _outage = new OverloadDetector(settings.Adapt.CoolDown);
    }

    /// <summary>
    /// True from an outage pause (most attempts failing with server errors) until an attempt sent after it is answered by
    /// the provider (a success or a 429): the model's pauses space its attempts, so a request failed by the outage is
    /// retried through the paused throttle at once instead of on a backoff of its own that could outlast the outage.
    /// </summary>
    public bool InOutage => _outagePauses > 0;


    /// <summary>How the rate now in force was found: configured, seeded from the provider's headers, or probed.</summary>
    public RateOrigin Origin { get; private set; }

    /// <summary>True while slow start is still growing the rate multiplicatively.</summary>
    public bool InSlowStart => _slowStart is { Active: true };

    /// <summary>What the throttle should be set to now.</summary>
    public ThrottleSettings Settings => new(_aimd.State.Rate, _aimd.State.Burst, _tokens is { } t ? Math.Max(1, (long)Math.Round(t.TokensPerMinute)) : 0);

    /// <summary>The token rate as the controller holds it (unrounded), tokens per minute; 0 without a token limit.</summary>
    public double TokensPerMinute => _tokens?.TokensPerMinute ?? 0;

    /// <summary>Takes one answered attempt; returns the settings change (if any) and the pauses it calls for.</summary>
    public RateDecision Observe(RateOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        var now = outcome.AnsweredAt;
        var wasInOutage = InOutage;
        _firstAnswerAt ??= now;
        var before = Settings;
        var pauses = new List<RatePause>();
        if (RateLimitPause.Until(outcome.Headers, now, _settings.Retry.MaxRetryAfter, outcome.Cost) is { } headerPause)
        {
            pauses.Add(new RatePause(headerPause, Empty: false, "the provider's headers say nothing remains until then"));
        }
        if (outcome.Headers is { LimitRequests: { } quota and > 0, WindowRequests: { } window } && window > TimeSpan.Zero)
        {
            _hits.EnsureCapacity(quota);
        }
        if (outcome.Kind == OutcomeKind.Success && outcome.Headers is { LimitRequests: > 0, RemainingRequests: { } remaining, WindowRequests: null, Policies.Count: 0 })
        {
            _maxRemaining = Math.Max(_maxRemaining ?? 0, remaining);
        }
        var changes = new List<RateChange>();
        if (Seed(outcome.Headers, now, outcome.SentAt) is { } seeded && Settings != before)
        {
            // A seed is its own change, with its own reason, before whatever this outcome does to the rate.
            changes.Add(new RateChange(now, before, Settings, seeded.Reason, seeded.Detail));
            if (before.TokensPerMinute == 0 && Settings.TokensPerMinute > 0)
            {
                // A throttle started without a token limit gets one: its token bucket would start full at a minute's worth
                // (no tokens-burst was known at start) and let that out at the request rate. Emptied, it releases only
                // what accrues at the new token rate.
                pauses.Add(new RatePause(now, Empty: true, "a token limit starts: the token bucket starts empty"));
            }
            else if (Settings.TokensPerMinute < before.TokensPerMinute * (1 - SeedTolerance))
            {
                // A number configured above the limit the provider states: its bucket held a burst counted at that number,
                // and the opening sends have already taken the provider's own (virtual matrix, tokens-anthropic 10x: 16
                // token 429s 50 ms after the seed). Emptied, it releases only what accrues at the stated rate.
                pauses.Add(new RatePause(now, Empty: true, "the token limit came down to the provider's: the token bucket starts empty"));
            }
        }
        var decision = ObserveAfterSeed(outcome, now, pauses, changes);
        return InOutage == wasInOutage ? decision : decision with { OutageBegan = InOutage, OutageEnded = !InOutage };
    }

    private RateDecision ObserveAfterSeed(RateOutcome outcome, DateTimeOffset now, List<RatePause> pauses, List<RateChange> changes)
    {
        var before = Settings;
        var reason = RateChangeReason.RateLimited;
        string? detail = null;
        if (outcome.Kind != OutcomeKind.Success && outcome.Streamed)
        {
            // A rate-limit error inside a stream is still a rate signal; nothing else about it is (the request is not retried).
            if (outcome.Kind == OutcomeKind.RateLimited)
            {
                _aimd.OnRateLimited(now);
                detail = "429 inside a stream";
            }
            return Decide(now, before, reason, detail, pauses, changes);
        }
        switch (outcome.Kind)
        {
            case OutcomeKind.Success:
                Answered(now, outcome.SentAt);
                _hits.Record(outcome.SentAt);
                (reason, detail) = Accepted(outcome, now);
                break;
            case OutcomeKind.RateLimited:
                Answered(now, outcome.SentAt);
                _hits.Record(outcome.SentAt);
                (reason, detail) = RateLimited(outcome, now, pauses);
                if (_settings.Adapt.PauseOnRetryAfter == RetryAfterScope.Model && RateLimitPause.RetryFloor(outcome.Headers) is { } wait && wait > TimeSpan.Zero)
                {
                    pauses.Add(new RatePause(now + Min(wait, _settings.Retry.MaxRetryAfter), Empty: false, "the 429's retry-after (pause-on-retry-after = model)"));
                }
                break;
            case OutcomeKind.Transient:
                ServerError(outcome, now, pauses);
                break;
        }
        return Decide(now, before, reason, detail, pauses, changes);
    }

    /// <summary>
    /// A server error (500-504, 529 <c>overloaded_error</c>, a timeout): no rate signal, but when most attempts of the
    /// cool-down fail this way (<see cref="OverloadDetector.IsOverload"/>) the provider is down, and sending on only spends
    /// attempts. The model pauses: the provider's retry-after, else from adapt.cool-down doubling up to retry.base-delay
    /// while pauses follow each other, so a provider back up waits at most that long for the next probe. Its buckets are
    /// emptied, and until a probe is answered (<see cref="InOutage"/>) the model sends one attempt at a time (its caller
    /// sets the in-flight limit to one): one failure of an attempt sent after the pause pauses again. Failures of attempts
    /// sent before a pause are its echoes.
    /// </summary>
    private void ServerError(RateOutcome outcome, DateTimeOffset now, List<RatePause> pauses)
    {
        var sentAt = outcome.SentAt;
        if (sentAt <= _outagePausedAt)
        {
            return;
        }
        _outage.Record(now, rejected: true, sentAt);
        var probeFailed = InOutage && sentAt >= _outagePausedUntil;
        if (!probeFailed && !_outage.IsOverloaded(now))
        {
            return;
        }
        var (failed, counted) = (_outage.Rejected, _outage.Counted);
        // Doubling only up to retry.base-delay: a provider back up waits at most that long for the next probe.
        var wait = OverloadPause.Length(RateLimitPause.RetryFloor(outcome.Headers), ++_outagePauses, _settings.Retry, _settings.Adapt.CoolDown,
            longest: _settings.Retry.BaseDelay);
        _outage.Reset();
        _outagePausedAt = now;
        _outagePausedUntil = now + wait;
        pauses.Add(new RatePause(_outagePausedUntil, Empty: true, probeFailed
            ? string.Create(CultureInfo.InvariantCulture, $"outage: the first attempt after pause {_outagePauses - 1} failed too; paused {wait.TotalMilliseconds:0} ms")
            : string.Create(CultureInfo.InvariantCulture, $"outage: {failed} of {counted} attempts failed with server errors; paused {wait.TotalMilliseconds:0} ms"),
            Outage: true));
    }

    /// <summary>The provider answered an attempt sent at <paramref name="sentAt"/> (a success or a 429): it is up.</summary>
    private void Answered(DateTimeOffset now, DateTimeOffset sentAt)
    {
        if (sentAt > _outagePausedAt)
        {
            _outage.Record(now, rejected: false, sentAt);
        }
        if (sentAt >= _outagePausedUntil && _outagePauses > 0)
        {
            _outagePauses = 0;
            // Back from an outage, what 429s taught before it is stale (the provider restarted, or shed the load that limited
            // it): slow start back to the highest rate it was seen holding, as for a limit that came back, or, when that is no
            // higher, to twice the rate (virtual matrix, schedule-529 10x and auto: the rate held during the drop to 40 % crept
            // back from 48/s for 23 s after the outage). Not further: the provider's bucket refilled during the outage and
            // carries rounds far above its rate (uncapped, slow start reached 768/s on a 100/s bucket before its first 429).
            // A round of 429s costs one step back to the last good round; then the normal pace.
            if (_slowStart is not { Active: true })
            {
                _aimd.ForgetLearned();
                var rate = _aimd.State.Rate;
                RestartSlowStart(now, _highestHeld is { } top && top > rate * ReprobeAbove ? top : 2 * Math.Max(rate, _highestHeld ?? 0));
            }
        }
    }

    private RateDecision Decide(DateTimeOffset now, ThrottleSettings before, RateChangeReason reason, string? detail, List<RatePause> pauses, List<RateChange> changes)
    {
        var after = Settings;
        if (after != before)
        {
            changes.Add(new RateChange(now, before, after, reason, detail ?? ""));
        }
        return changes.Count == 0 && pauses.Count == 0 ? RateDecision.None : new RateDecision(changes, pauses);
    }

    /// <summary>
    /// A limit the provider advertised (<see cref="RateLimitHints.Advertised"/>) seeds the rate the first time it is seen
    /// and whenever it moves by more than <see cref="SeedTolerance"/>: with auto to it, with a configured number to that
    /// number at most (the user's contract may be below the provider's limit). An exact figure (a policy's quota over its
    /// window, a bucket's refill rate once its readings show a bucket: <see cref="BucketReadings"/>) sets the rate either way and counts as learned, so growth above it
    /// probes slowly; any other reading only ever raises it, at most twofold per slow-start round. A seed ends slow start.
    /// </summary>
    /// <param name="sentAt">When the attempt was sent: a provider reckons its headers when the request arrives, not when it answers.</param>
    private (RateChangeReason Reason, string Detail)? Seed(RateLimitInfo headers, DateTimeOffset now, DateTimeOffset sentAt)
    {
        if (RateLimitHints.Advertised(headers) is not { } advertised)
        {
            return null;
        }
        (RateChangeReason, string)? result = null;
        if (advertised.RequestsPerSecond is { } reading && reading > 0)
        {
            var median = _advertisedRates.Add(reading);
            // A bucket read exactly (millisecond resets, something remaining) whose readings agree while the deficit doubled
            // or over a quarter of a reset is its refill rate, not a fixed window's count over the time left (BucketReadings).
            var bucket = ExactBucketDeficit(headers) is { } deficit ? _bucketReadings.Add(reading, deficit, headers.ResetRequests!.Value, now) : null;
            // A fixed window read exactly (the end each reading names stays put, then moves on by one window) is paced as a
            // policy's quota over its window is (WindowReadings).
            // Providers reckon headers when the request arrives or when they answer: the reading is tried at both instants.
            double? window = null;
            var windowReadings = _windowAtAnswer;
            if (bucket is null && ExactWindowReading(headers) is var (limit, remaining, reset))
            {
                window = _windowAtAnswer.Add(limit, remaining, reset, now);
                if (_windowAtSend.Add(limit, remaining, reset, sentAt) is { } atSend && window is null)
                {
                    (window, windowReadings) = (atSend, _windowAtSend);
                }
            }
            if (window is { } windowPace && !Same(_seededRate, windowPace))
            {
                result = SeedRate(windowPace, string.Create(CultureInfo.InvariantCulture,
                    $"{advertised.Source.Split(" (", 2)[0]}: a fixed window of {windowReadings.Window!.Value.TotalSeconds:0.###} s, its limit over its length"),
                    policy: true, bucket: false, now, window: true);
            }
            else if (window is null && (bucket ?? median) is { } rps && !Same(_seededRate, rps))
            {
                result = SeedRate(rps, advertised.Source, policy: advertised.Source.StartsWith("RateLimit-Policy", StringComparison.Ordinal), bucket is not null, now);
            }
        }
        if (advertised.TokensPerMinute is { } tokenReading && tokenReading > 0
            && _advertisedTokens.Add(tokenReading) is { } tpm && !Same(_seededTokens, tpm) && (_settings.AutoTokens || _settings.TokensPerMinute > 0))
        {
            _seededTokens = tpm;
            var ceiling = _settings.AutoTokens ? double.PositiveInfinity : _settings.TokensPerMinute;
            var target = Math.Min(tpm, ceiling);
            bool changed;
            if (_tokens is null)
            {
                // tokens-per-minute = auto and the first limit heard of: the token bucket starts at it, with a floor as far
                // below it as min-rate is below the start rate.
                var limits = new TokenRateLimits(
                    ceiling,
                    Math.Clamp(target * _settings.MinRate / _settings.RequestsPerSecond, 1, target),
                    _settings.Adapt.DecreaseFactor,
                    _settings.Adapt.IncreaseStep,
                    _settings.Adapt.IncreaseAfter,
                    _settings.Adapt.CoolDown,
                    _settings.Adapt.SettleFraction);
                _tokens = new TokenRateController(limits, target);
                _tokens.Seed(target);
                changed = true;
            }
            else
            {
                changed = _tokens.Seed(target);
            }
            if (changed && result is null)
            {
                result = (tpm > ceiling ? RateChangeReason.ConfiguredCeiling : RateChangeReason.HeaderSeed,
                    string.Create(CultureInfo.InvariantCulture, $"{advertised.Source}: {tpm:0} tokens/min"));
            }
        }
        return result;
    }

    /// <summary>
    /// Seeds the request rate from an advertised one (see <see cref="Seed"/>). <paramref name="policy"/>: an IETF policy's
    /// quota over its window; <paramref name="bucket"/>: a bucket's refill rate its readings showed. Either is exact: it
    /// sets the rate up or down (a configured number stays the ceiling) and caps growth; any other reading is a hint that
    /// only raises it, at most twofold per slow-start round.
    /// </summary>
    /// <param name="window">A fixed window's limit over its length (<see cref="WindowReadings"/>): it takes two windows' readings, so 429s
    /// have usually come first, and it may raise the rate they lowered (once: the same pace does not seed twice).</param>
    private (RateChangeReason, string)? SeedRate(double rps, string source, bool policy, bool bucket, DateTimeOffset now, bool window = false)
    {
        // A bucket read from one response ((limit - remaining) / reset) is a hint unless its readings show a bucket: on
        // fixed windows the reset is the window's end, not a refill (measured: seeds from single readings held a known 100/s
        // OpenAI token bucket at 0.75 and fixed 1 s windows at 0.33). Hints only raise the rate, and 429s do the rest.
        var exact = policy || bucket;
        var lowerBound = !exact;
        var ceiling = _settings.RateCeiling;
        if (bucket)
        {
            source += string.Create(CultureInfo.InvariantCulture, $", a bucket: readings agree over {BucketReadings.DeficitSpread:0}x the deficit or a quarter of a reset");
        }
        // An exact bucket reading within the seed tolerance of the configured rate confirms it ((deficit - 1/2) / reset reads
        // up to half a request low, and a known limit must not lose that); a hint never raises above a rate the provider
        // stated exactly (the cap), nor more than twofold.
        var target = bucket && rps >= ceiling * (1 - SeedTolerance) ? ceiling
            : exact ? Math.Min(rps, ceiling) : Math.Min(Math.Min(rps, 2 * _aimd.State.Rate), _aimd.MaxRate);
        // 429s are the provider's own word and headers only a reading: once one has come, a seed may lower the rate but
        // never raise it (probing does that). Readings of a bucket from single responses can be far off (measured: 20x
        // the limit on the simulator's 1,000/s OpenAI shape), and raising on them undid every decrease.
        var raises = target > _aimd.State.Rate;
        // A hint doubles at most once per slow-start round: every answer carries one, and doubling per answer took the
        // rate from 5/s to thousands within a few answers (47 % 429s on fixed 1 s windows in the quick matrix).
        var hintTooSoon = lowerBound && now - _lastHintRaise < SlowStart.RoundLength;
        if ((lowerBound && !raises) || (raises && _seenRateLimited && !window) || hintTooSoon)
        {
            return null;
        }
        if (lowerBound)
        {
            _lastHintRaise = now;
        }
        _seededRate = lowerBound ? target : rps;
        if (exact)
        {
            // The provider's own pace: storms at it are a window's end or bunching, not a rate it does not hold; and what was
            // sent before it came down is answered by this seed, not by a step of its own.
            _statedRate = target;
            _statedByPolicy = policy;
            _statedPaceRegrown = false;
            if (target < _aimd.State.Rate)
            {
                _exactSeedLoweredAt = now;
            }
        }
        var changed = _aimd.SetRate(target, learned: !lowerBound);
        // The provider's own statement of its pace (a policy's quota over its window, a bucket's refill): probing above it
        // only finds its 429s, and on a 10 s sliding-window counter they come late and in storms (benchmarks:
        // swc-ietf-structured 7-13 % 429s under auto, probing to 1.09x in the first window and overloading in the next).
        _aimd.CapRate(exact ? target : null);
        _slowStart?.End("the provider advertised its limit");
        if (rps <= ceiling || _settings.AutoRate)
        {
            Origin = RateOrigin.SeededFromHeaders;
        }
        if (!changed)
        {
            return null;
        }
        return rps > ceiling
            ? (RateChangeReason.ConfiguredCeiling, string.Create(CultureInfo.InvariantCulture, $"{source}: {rps:0.###}/s; requests-per-second = {ceiling:0.###} is the ceiling"))
            : (RateChangeReason.HeaderSeed, string.Create(CultureInfo.InvariantCulture, $"{source}: {rps:0.###}/s"));
    }

    /// <summary>A reading a fixed window may be told from: a limit, a remaining count and a millisecond reset (no whole seconds), no window or policy stated.</summary>
    private static (long Limit, long Remaining, TimeSpan Reset)? ExactWindowReading(RateLimitInfo headers) =>
        headers is { LimitRequests: { } limit and > 0, RemainingRequests: { } remaining, ResetRequests: { } reset, WindowRequests: null, Policies.Count: 0 }
            && headers.ResetRequestsGranularity == TimeSpan.Zero && reset > TimeSpan.Zero
            ? (limit, remaining, reset)
            : null;

    /// <summary>
    /// The deficit (limit − remaining) of a bucket read exactly from these headers: a limit, something remaining and a
    /// millisecond reset, no window or policy, at least twice <see cref="RateLimitHints.MinimumDeficit"/> spent (or the whole
    /// limit less one, if smaller): whole-unit rounding is then within 2.5 %; null otherwise.
    /// </summary>
    private static double? ExactBucketDeficit(RateLimitInfo headers) =>
        headers is { LimitRequests: { } limit and > 0, RemainingRequests: { } remaining and > 0, ResetRequests: { } reset, WindowRequests: null, Policies.Count: 0 }
        && reset > TimeSpan.Zero && headers.ResetRequestsGranularity == TimeSpan.Zero && remaining < limit
        && limit - remaining >= Math.Min(2 * RateLimitHints.MinimumDeficit, limit - 1)
            ? limit - remaining
            : null;

    /// <summary>Advertised readings a seed is the median of (the newest).</summary>
    public const int SeedReadings = 9;

    /// <summary>Readings needed before the first seed.</summary>
    public const int SeedMinReadings = 3;

    /// <summary>A rate this many times the learned one reached without a 429 forgets it (auto: slow start again; a number: the normal pace).</summary>
    public const double ReprobeAbove = 1.1;

    /// <summary>An advertised rate within this fraction of the last seed is the same limit read again (rounding, timing).</summary>
    public const double SeedTolerance = 0.1;

    private static bool Same(double? seen, double value) => seen is { } s && Math.Abs(s - value) <= SeedTolerance * Math.Max(s, value);

    /// <summary>
    /// A success: AIMD on the request and token rates grows (slow start, while it lasts, multiplies the rate per round);
    /// the overload count sees an accepted attempt.
    /// </summary>
    private (RateChangeReason, string) Accepted(RateOutcome outcome, DateTimeOffset now)
    {
        var sentAt = outcome.SentAt;
        var reason = (RateChangeReason.Probe, "a run of successes");
        var rateBefore = _aimd.State.Rate;
        // Slow start owns growth while it lasts: an additive step inside a round would blur what the round measures.
        _aimd.OnSuccess(now, sentAt, onlyWhenUsed: _settings.AutoRate, grow: _slowStart is not { Active: true });
        var steppedUp = _aimd.State.Rate > rateBefore;
        if (_aimd.State.Rate < rateBefore)
        {
            // A 429 step that waited for the estimate after an overload cut (AimdController.SettlePending) took it now.
            reason = (RateChangeReason.RateLimited, string.Create(CultureInfo.InvariantCulture,
                $"a 429 after the overload cut, settled once measured: provider seen accepting {_aimd.AcceptedRate(now) ?? 0:0.###}/s"));
        }
        if (_slowStart is { Active: true } slowStart)
        {
            if (slowStart.OnSuccess(sentAt, now, _aimd.State.Rate) is { } grown)
            {
                var from = _aimd.State.Rate;
                _slowStartAccepted = from;
                if (_slowStartCap is { } cap && grown >= cap)
                {
                    grown = cap;
                    slowStart.End("back at the rate held before");
                    _slowStartCap = null;
                }
                _aimd.SetRate(grown, learned: false);
                _aimd.RestartEstimate(now);
                reason = (RateChangeReason.SlowStart, string.Create(CultureInfo.InvariantCulture, $"a round of successes at {from:0.###}/s"));
            }
            else if (!slowStart.Active)
            {
                reason = (RateChangeReason.Probe, $"slow start ended: {slowStart.EndedBecause}");
            }
        }
        else if (_aimd.LearnedRate is { } learned && _aimd.State.Rate >= ReprobeAbove * learned)
        {
            // Probing slowly past the learned rate got this far without a 429: the limit has moved up (a limit that dropped
            // and came back). Under auto, slow start again from here, as BBR probes again, instead of creeping up at a fifth of
            // the pace. Under a configured number, slow start back to the highest rate the provider held before, then grow at
            // the normal pace towards the number: a limit back at it took 70 s from half of it at a fifth of the pace, 16 s
            // at the normal pace (schedule-529), and slow start without that bound overshot a number configured 10x too
            // high (three overloads).
            _aimd.ForgetLearned();
            if (_settings.AutoRate)
            {
                RestartSlowStart(now, cap: null);
                reason = (RateChangeReason.SlowStart, string.Create(CultureInfo.InvariantCulture, $"{ReprobeAbove - 1:P0} above the learned {learned:0.###}/s without a 429: probing again"));
            }
            else if (_highestHeld is { } top && top > _aimd.State.Rate * ReprobeAbove)
            {
                RestartSlowStart(now, top);
                reason = (RateChangeReason.SlowStart, string.Create(CultureInfo.InvariantCulture, $"{ReprobeAbove - 1:P0} above the learned {learned:0.###}/s without a 429: back towards the {top:0.###}/s held before"));
            }
            else
            {
                reason = (RateChangeReason.Probe, string.Create(CultureInfo.InvariantCulture, $"{ReprobeAbove - 1:P0} above the learned {learned:0.###}/s without a 429: growing at the normal pace again"));
            }
        }
        _tokens?.OnSuccess(now, sentAt, outcome.Cost);
        Held(now, sentAt, steppedUp);
        if (sentAt > _overloadPausedAt)
        {
            _overload.Record(now, rejected: false, sentAt);
        }
        if (sentAt >= _overloadPausedUntil)
        {
            _overloadPauses = 0;
        }
        return reason;
    }

    /// <summary>
    /// A success sent at <paramref name="sentAt"/>: once <see cref="HoldSpan"/> of sends has passed without a 429 and
    /// without a raise, each accepted, at about the rate in force all along (not a quiet model), the lowest rate in force
    /// then is one the provider holds (<see cref="_heldRate"/>).
    /// </summary>
    private void Held(DateTimeOffset now, DateTimeOffset sentAt, bool steppedUp)
    {
        var rate = _aimd.State.Rate;
        if (rate > _lastHeldCheckRate)
        {
            // Raised since the last success (at the latest now): attempts sent from here on go at the new rate.
            _rateRaisedAt = now;
        }
        _lastHeldCheckRate = rate;
        if (_cleanSince is not { } since)
        {
            _cleanSince = sentAt;
            _cleanMinRate = rate;
            _cleanSuccesses = 0;
            return;
        }
        if (rate > _cleanMinRate * (1 + 1e-9) && sentAt >= _rateRaisedAt)
        {
            // Raised since the span began (a probe step): the span restarts at the new rate, so each rate held for a
            // HoldSpan counts, not the lowest since the last 429 (real deployments benchmark: an auto 5/s deployment probing
            // 2.5, 3.5, 4.5 without a 429 held 2.5 only, and its 429 at 5.5 settled at 2.8, under an estimate spanning them all).
            _cleanSince = sentAt;
            _cleanMinRate = rate;
            _cleanSuccesses = 0;
            return;
        }
        _cleanMinRate = Math.Min(_cleanMinRate, rate);
        _cleanSuccesses++;
        var span = (sentAt - since).TotalSeconds;
        // A growth step from the rate is a run of successes at it: half a HoldSpan then does (at 4.5/s a step comes after five
        // successes, 0.9-1 s of sends, and the rate was never counted as held, whatever the run).
        var longEnough = span >= (steppedUp ? HoldSpan.TotalSeconds / 2 : HoldSpan.TotalSeconds);
        if (longEnough && _cleanSuccesses >= HeldShare * _cleanMinRate * span && !(_heldRate >= _cleanMinRate))
        {
            if (_heldRate is { } before && _cleanMinRate > before * (1 + 1e-9) && _aimd.LearnedRate is { } learned && _cleanMinRate > learned * (1 + 1e-9))
            {
                // A probe above the learned rate held.
                _aimd.ProbeHeld();
            }
            _heldRate = _cleanMinRate;
            _highestHeld = Math.Max(_highestHeld ?? 0, _cleanMinRate);
        }
    }

    /// <summary>
    /// A 429 step (not an overload) never takes the rate below one the provider held (<see cref="Held"/>) when it came while
    /// probing above it: the accepted-rate estimate then mostly spans the sends at the held rate, so settling under it
    /// ratcheted a slow model down by 3 % a probe (virtual time: an auto 5/s bucket went 4.7, 4.6, 4.4 … 3.9 over a minute).
    /// A 429 at or under the held rate shows the provider may no longer hold it: the step stands, and the held rate follows
    /// it down (a window's end keeps the storm rule off; a limit that dropped is not floored).
    /// </summary>
    private void KeepHeldRate(double rateBefore)
    {
        if (_heldRate is not { } held)
        {
            return;
        }
        if (rateBefore <= held * (1 + 1e-9))
        {
            _heldRate = Math.Min(held, _aimd.State.Rate);
            return;
        }
        if (_aimd.State.Rate < held)
        {
            // The probe is given up: the limit lies between the held rate and it, so the next probe takes half the step.
            _aimd.SetRate(held, learned: true);
            _aimd.ProbeFailed();
        }
    }

    /// <summary>Accepted sends at this share of the rate over the span or more: the model was busy, not quiet (a late timer or the tick grid loses a few).</summary>
    private const double HeldShare = 0.8;

    /// <summary>Sends without a 429 for this long, at the rate, show the provider holds it.</summary>
    public static readonly TimeSpan HoldSpan = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Whether 429s sent <paramref name="span"/> apart came from the rate rather than one burst: sent over at least
    /// <see cref="OverloadDetector.MinRejections"/> intervals of the current rate. An opening burst of 10 into a bucket
    /// holding 4 draws six 429s sent in the same millisecond; that is the burst's fault (the 429 step shrinks it), and
    /// calling it an overload halved the rate of a model configured right (virtual time: 20/s against a 20/s bucket of 4
    /// ran at 0.59 for its first 10 s).
    /// </summary>
    private bool SpreadOverTheRate(TimeSpan span) =>
        span.TotalSeconds * _aimd.State.Rate >= OverloadDetector.MinRejections - 1;

    /// <summary>
    /// A 429 rate-limit answer: lowers the rate of the limit it was about (<see cref="RateLimitCause"/>; the request rate
    /// when nothing tells, or when the model has no token budget to lower). When most attempts of a cool-down were
    /// rejected (<see cref="OverloadDetector"/>) the whole model pauses for the provider's retry-after (or a backoff)
    /// and resumes at a rate cut in one step from the rate those 429s were sent at
    /// (<see cref="AimdController.OnOverload(DateTimeOffset, DateTimeOffset)"/>), with an emptied throttle: a provider that
    /// charges rejected requests against the limit only goes deeper into debt while we send. The 429s of attempts sent
    /// before that pause (up to its instant) are echoes of the same overload: they change no rate, and only lengthen the
    /// pause when their retry-after ends later.
    /// </summary>
    private (RateChangeReason, string) RateLimited(RateOutcome outcome, DateTimeOffset now, List<RatePause> pauses)
    {
        var sentAt = outcome.SentAt;
        var headers = outcome.Headers;
        if (sentAt <= _overloadPausedAt)
        {
            // The provider reckoned its retry-after when the attempt arrived, so an echo's is fresher than the one the pause
            // started from (a provider that charges rejections was charged for every echo since).
            if (headers.RetryAfter is { } echoWait && echoWait > TimeSpan.Zero)
            {
                var until = WindowEndAtLatest(now + Min(echoWait, _settings.Retry.MaxRetryAfter), headers, now);
                if (until > _overloadPausedUntil)
                {
                    _overloadPausedUntil = until;
                    pauses.Add(new RatePause(until, Empty: false, "a later retry-after from a 429 of the overload"));
                }
            }
            return (RateChangeReason.Overload, "echo of the overload");
        }
        if (sentAt < _exactSeedLoweredAt)
        {
            // Sent at the rate an exact seed (a policy, a bucket's refill) has since brought down: that seed is the answer
            // (virtual time: a charged bucket 10x too high, seeded to 100.2/s, then cut to 59 by the 429s of its earlier sends).
            return (RateChangeReason.RateLimited, "429 of an attempt sent before the provider's stated pace was taken");
        }
        var emptyBucketPace = RateLimitHints.EmptyBucketPace(headers);
        // At burst 1 no burst is left to blame: the rate is too high after all, whatever the lower bound read.
        if (outcome.Cause != RateLimitedBy.Tokens && _aimd.State.Burst > _settings.MinBurst
            && emptyBucketPace is { } pace && _aimd.State.Rate <= pace * (1 + SeedTolerance))
        {
            return BurstRejected(pace, now);
        }
        if (_firstAnswerAt is { } first && sentAt < first && outcome.Cause != RateLimitedBy.Tokens && _aimd.State.Burst > _settings.MinBurst)
        {
            // Sent before any answer came back: the opening burst was larger than the provider's bucket. That says nothing
            // about the rate; the 429 step shrinks the burst, slow start and header seeds go on (virtual time: auto against
            // a 20/s bucket holding 4 ended slow start on its opening burst and crept up from 5/s by one a second).
            _aimd.OnRateLimited(now);
            if (emptyBucketPace is { } stated && _aimd.State.Rate > stated * (1 + SeedTolerance))
            {
                // Its headers state the bucket's refill pace, though, and the rate is well above it (a number configured
                // too high): down to it now, not after the sends the next release lets out at the old rate (virtual
                // matrix: a burst-5 GCRA configured 10x too high drew 27 429s in its first 25 ms).
                _aimd.SetRate(stated, learned: true);
                return (RateChangeReason.RateLimited, string.Create(CultureInfo.InvariantCulture,
                    $"429 of the opening burst from an empty bucket refilled at {stated:0.###}/s: the burst shrinks, the rate comes down to that pace"));
            }
            return (RateChangeReason.RateLimited, "429 of the opening burst: the burst shrinks, the rate stays");
        }
        _seenRateLimited = true;
        var endsSlowStart = _slowStart is { Active: true };
        _slowStart?.End("a 429");
        _slowStartCap = null;
        var by = outcome.Cause;
        var onTokens = _tokens is not null && by is RateLimitedBy.Tokens or RateLimitedBy.Both;
        var onRequests = !onTokens || by == RateLimitedBy.Both;
        _overload.Record(now, rejected: true, sentAt);
        // A rate the provider was seen holding has brief storms at a window's end or when sends bunch: only the old rule
        // (most of the cool-down's attempts) calls those an overload. Above it, the storm's own count does.
        var countStorm = !(_aimd.State.Rate <= Math.Max(_heldRate ?? 0, _statedRate ?? 0) * (1 + SeedTolerance));
        _cleanSince = null;
        if (_overload.IsOverloaded(now, countStorm) && SpreadOverTheRate(_overload.RejectedSendSpan))
        {
            var storm = _overload.Storm;
            var share = (double)storm.Rejected / Math.Max(1, storm.Attempts);
            var since = _overload.EarliestRejectedSentAt ?? sentAt;
            // A whole-second retry-after from a bucket whose pace is known bounds a wait of one request's worth, not a second.
            // Pauses in a row double only while the rate cannot come down further: a cut rate is the answer to a storm at
            // the rate before, and the pause only lets the provider's bucket refill (virtual matrix, tb-none 10x at
            // 100-300 ms: 250, 500 and 1,000 ms pauses in the first two seconds, the successes in between still in flight).
            var cuts = onRequests && _aimd.State.Rate > _settings.MinRate * (1 + 1e-9);
            _overloadPauses = cuts ? 1 : _overloadPauses + 1;
            var wait = OverloadPause.Length(RateLimitPause.RetryFloor(headers), _overloadPauses, _settings.Retry, _settings.Adapt.CoolDown);
            _overload.Reset();
            _overloadPausedAt = now;
            _overloadPausedUntil = WindowEndAtLatest(now + wait, headers, now);
            wait = _overloadPausedUntil - now;
            if (onRequests)
            {
                var rateBefore = _aimd.State.Rate;
                _aimd.OnOverload(now, since);
                // Most of what was sent is refused: whatever the provider held before, a hold must be shown again.
                _heldRate = null;
                if (emptyBucketPace is { } stated)
                {
                    // The provider states its refill pace: the cut goes to it, and no lower. A storm of 429s at or under it is
                    // bunching (a late timer, retries arriving together), which halving the rate does not cure (measured on
                    // the loaded machine: a burst-5 GCRA under auto halved to 0.5 and crept back for 17 s).
                    _aimd.SetRate(Math.Max(_aimd.State.Rate, Math.Min(stated, rateBefore)), learned: true);
                }
                if (_statedByPolicy && _statedRate is { } statedPace && rateBefore <= statedPace * (1 + SeedTolerance))
                {
                    // At or under the pace a policy states exactly, a storm is a window that ran out early (an opening
                    // burst spent part of it; every hit counted): the pause waits the window out, and halving the rate
                    // only left it crawling back by one a step (virtual matrix, fw-drift-1s-ietf7 2x at 100-300 ms: 0.53
                    // on one seed in five, 0.53 in the real run of 05:04). A policy is restated on every answer, so a
                    // lower limit re-seeds it; a bucket's refill read earlier is not, and a limit that dropped under it
                    // must still be cut (SimulatorScenarioSpec: 579 late 429s when it was not).
                    _aimd.SetRate(Math.Max(_aimd.State.Rate, Math.Min(statedPace, rateBefore)), learned: true);
                }
                else if (!_statedByPolicy && _statedRate is { } bucketPace && !_statedPaceRegrown && _aimd.State.Rate * ReprobeAbove < bucketPace && _slowStart is not { Active: true })
                {
                    // Under a bucket's refill pace read from its headers (not a policy's: the branch above), a storm is most likely the debt an opening burst ran
                    // up on a bucket that charges rejections (virtual matrix, tb-charged-openai 10x at 100-300 ms: halved to
                    // 50/s and 15 s back to 100). Once per pace read, slow start back to it after the pause; a round of 429s
                    // on the way (a limit that dropped under a pace read earlier) ends it at the last good round.
                    _statedPaceRegrown = true;
                    RestartSlowStart(now, bucketPace);
                }
            }
            if (onTokens)
            {
                var tokensBefore = _tokens!.BeforeStepsSince(since);
                _tokens.OnOverload(now, since);
                if (_seededTokens is { } statedTokens && tokensBefore <= statedTokens * (1 + SeedTolerance))
                {
                    // At or under the token limit the provider states (restated on every answer, as a policy is), a storm is a
                    // bucket an opening burst emptied: the pause waits for it, and halving the token rate left it crawling back
                    // a request's worth at a step (virtual matrix, tokens-anthropic configured 2x too high: 0.71 of the
                    // known-limit run's goodput over the full backlog).
                    _tokens.Restore(Math.Min(statedTokens, tokensBefore));
                }
            }
            // Emptied too: the provider's own bucket was just emptied, a burst on resuming would meet an empty one.
            pauses.Add(new RatePause(_overloadPausedUntil, Empty: true, string.Create(CultureInfo.InvariantCulture, $"overload: {share:P0} of the attempts since the first 429 rejected ({by} limit)")));
            return (RateChangeReason.Overload, string.Create(CultureInfo.InvariantCulture,
                $"{share:P0} of the attempts since the first 429 rejected ({by} limit); paused {wait.TotalMilliseconds:0} ms"));
        }
        if (onRequests)
        {
            var rateBefore = _aimd.State.Rate;
            _aimd.OnRateLimited(now);
            if (endsSlowStart && _slowStartAccepted is { } good && emptyBucketPace is null)
            {
                // The limit lies between the last round that was all accepted and this one. What was accepted since the
                // doubling is no measure yet (a few hundred ms, with the provider's own burst in it), so back to the last
                // good rate (TCP's ssthresh), from where additive steps at the normal pace find the rest; a settle read
                // then, in steady state, is the one learned.
                _aimd.SetRate(Math.Min(_aimd.State.Rate, good), learned: false);
                _aimd.ForgetLearned();
            }
            SettleAtPace(emptyBucketPace, rateBefore);
            KeepHeldRate(rateBefore);
        }
        if (onTokens)
        {
            _tokens!.OnRateLimited(now);
        }
        var accepted = _aimd.AcceptedRate(now);
        return (RateChangeReason.RateLimited, accepted is { } a
            ? string.Create(CultureInfo.InvariantCulture, $"429 ({by} limit); provider seen accepting {a:0.###}/s")
            : $"429 ({by} limit)");
    }

    /// <summary>
    /// <paramref name="until"/>, or sooner when a request window of known quota and length (an IETF policy) must have
    /// ended by then: a window that has seen the last quota's worth of this model's calls (hits, accepted or rejected)
    /// began no later than the first of them (fixed, drifting or sliding alike), so it ends within a window's length of
    /// it. A whole-second retry-after bounds the wait only to the second (virtual matrix, fw-drift-1s-ietf7 2x at
    /// 100-300 ms with transit: the opening burst ran its drifting window out at 0.77 s, the window ended at 1.0 s, and
    /// the overload paused until 2.04 s, 0.83 of the limit, as in three real runs of five). Calls still in flight are not
    /// counted, so the bound can come early when many are; the paced waits of the window's headers take over then. The
    /// 429s count too: their answers come back first, and a bound from successes alone was missing when a storm tipped
    /// the overload while the window's last successes were still in flight (one real run of five at 0.83 still).
    /// </summary>
    private DateTimeOffset WindowEndAtLatest(DateTimeOffset until, RateLimitInfo headers, DateTimeOffset now) =>
        QuotaWindowEnd(headers) is not { } end || end >= until ? until : end > now ? end : now;

    /// <summary>
    /// When a request window of known quota and length (an IETF policy) that saw the model's last quota's worth of answered
    /// calls ends at the latest: a window's length after the first of them (see <see cref="WindowEndAtLatest"/>). Null when
    /// <paramref name="headers"/> state no such window, or fewer calls than the quota were answered.
    /// </summary>
    public DateTimeOffset? QuotaWindowEnd(RateLimitInfo headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        return headers is { LimitRequests: { } quota and > 0, WindowRequests: { } window } && window > TimeSpan.Zero
            && _hits.NthLatest(quota) is { } firstOfQuota
            ? firstOfQuota + window
            : null;
    }

    /// <summary>
    /// A 429 from an empty bucket whose refill pace the headers give (<see cref="RateLimitHints.EmptyBucketPace"/>, a lower
    /// bound within half a request) found the rate above that pace: the rate goes to the pace, learned, instead of a step
    /// from the accepted-rate estimate, which latency jitter makes noisy (measured on virtual time: 0.84 of a 100/s GCRA at
    /// 100–300 ms). Only when the rate the 429 was sent at was above that pace: below it, the step stands.
    /// </summary>
    private void SettleAtPace(double? emptyBucketPace, double rateBefore)
    {
        if (emptyBucketPace is { } pace && pace < rateBefore)
        {
            _aimd.SetRate(pace, learned: true);
        }
    }

    /// <summary>
    /// A 429 from an empty bucket that refills about as fast as the rate sent at or faster (<see cref="RateLimitHints.EmptyBucketPace"/>,
    /// a lower bound: within <see cref="SeedTolerance"/>), while the burst is above min-burst: the
    /// throttle's burst is larger than the provider's burst tolerance, the rate is not too high. A GCRA with a burst of 5
    /// answers a first burst of 10 with five 429s and <c>retry-after: 1</c>; taking them for a rate signal halved the rate
    /// and paused the model for the whole second (an overload), and a 429 stopped header seeds from raising an auto rate
    /// (benchmarks: gcra-ietf-separate at 0.41 and 0.07 under auto, 0.50 known at 100–300 ms). So the burst comes down to
    /// the most the bucket was seen holding (or by the decrease factor, once per cool-down, before any reading), growth
    /// stops there, and the rate, slow start, seeding and the overload count are left alone; the header pause
    /// (<see cref="RateLimitPause.Until"/>) waits for the next request's worth only.
    /// </summary>
    private (RateChangeReason, string) BurstRejected(double pace, DateTimeOffset now)
    {
        var burst = _aimd.State.Burst;
        int? cap = _maxRemaining is { } seen && seen < burst ? (int)Math.Max(1, seen)
            : now - _lastBurstCap >= _settings.Adapt.CoolDown ? (int)Math.Floor(burst * _settings.Adapt.DecreaseFactor) : null;
        if (cap is { } c)
        {
            _lastBurstCap = now;
            _aimd.CapBurst(c);
        }
        return (RateChangeReason.RateLimited, string.Create(CultureInfo.InvariantCulture,
            $"429 from an empty bucket refilled at {pace:0.###}/s or more, above the rate: the provider's burst is smaller; burst at most {_aimd.MaxBurst}"));
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary>
    /// Slow start again from <paramref name="now"/>: up to <paramref name="cap"/> (the highest rate held before, where it
    /// ends and growth goes back to the normal pace), or without one under auto (it ends at a 429 or a seed).
    /// </summary>
    private void RestartSlowStart(DateTimeOffset now, double? cap)
    {
        _slowStart = new SlowStart(now);
        _slowStartAccepted = null;
        _slowStartCap = cap;
    }
}
