namespace ActorThrottle.Adaptation;

/// <summary>
/// Additive-increase / multiplicative-decrease on a model's burst window and rate, with the rate learned from what
/// the provider accepted. A 429 shrinks the burst multiplicatively, at most once per cool-down so one burst of 429s
/// counts once. The rate comes down too when the provider was seen accepting less than it: to
/// <c>settle-fraction</c> of that accepted rate (never by more than the decrease factor in one step), so the throttle
/// settles just under the real limit instead of sawing around it; without such evidence it shrinks multiplicatively
/// once the burst is at its floor. A run of successes grows the rate back first, then the burst, up to the configured
/// values. Pure state machine: time is passed in.
/// </summary>
internal sealed class AimdController
{
    // Enough successes to average out latency jitter, few enough to follow a limit that changes; a first estimate
    // after 16, so a slow model (10/s) learns in its first seconds rather than after 64.
    private const int EstimatorSamples = 64;
    private const int EstimatorMinSamples = 16;
    // Not readonly: SetLimits replaces it when a model's limits change at run time.
    private AimdLimits _limits;
    private readonly AcceptRateEstimator _accepted = new(EstimatorSamples, EstimatorMinSamples);
    private DateTimeOffset? _lastDecrease;
    // The 429 steps since the last overload cut, with the state before each: what an overload cuts from.
    private readonly StepHistory<AimdState> _steps = new();
    private DateTimeOffset _acceptedSince = DateTimeOffset.MinValue;
    private DateTimeOffset _holdGrowthUntil = DateTimeOffset.MinValue;
    // The rate last settled at from the provider's accepted rate; growth above it probes this many times slower.
    private double? _learnedRate;
    private const int ProbeSlowdown = 5;
    // The step of a probe above the learned rate: increase-step, halved by each probe a 429 answered (ProbeFailed), doubled
    // back by each that held (ProbeHeld).
    private double _probeStep;
    // A probe step never shrinks below this share of increase-step.
    private const double MinProbeStepShare = 1.0 / 16;
    private int _successRun;
    // The send instants of the growth run's first and last success (InUse, right after an overload).
    private DateTimeOffset _runFirstSent;
    private DateTimeOffset _runLastSent;
    // The rate the provider states exactly (an IETF policy's quota over its window) when below max-rate: growth stops there.
    private double _rateCap = double.PositiveInfinity;
    // The provider's burst tolerance when it is smaller than max-burst (a GCRA with a burst of 5): growth stops there.
    private int _burstCap = int.MaxValue;
    // The estimate was emptied by an overload cut and is refilling from the sends at the cut rate.
    private bool _measuringAfterOverload;
    // A 429 at the burst floor came before that estimate: the step waits for it (SettlePending) until this instant.
    private DateTimeOffset? _settlePendingSince;

    public AimdController(AimdLimits limits)
    {
        _limits = limits;
        _probeStep = limits.IncreaseStep;
        State = new AimdState(limits.MaxBurst, limits.MaxRate);
    }

    public AimdState State { get; private set; }

    /// <summary>Starts from a given state (e.g. a conservative one after a move), clamped to the limits.</summary>
    public AimdController(AimdLimits limits, AimdState start) : this(limits)
    {
        State = new AimdState(
            Math.Clamp(start.Burst, limits.MinBurst, limits.MaxBurst),
            Math.Clamp(start.Rate, limits.MinRate, limits.MaxRate));
    }

    /// <summary>
    /// Sets the rate from outside AIMD — a slow-start round or a limit the provider advertised — clamped to the limits.
    /// With <paramref name="learned"/> the rate counts as learned (growth above it probes slowly, as after a settle).
    /// Returns true when the state changed.
    /// </summary>
    public bool SetRate(double rate, bool learned)
    {
        var next = Math.Clamp(rate, _limits.MinRate, _limits.MaxRate);
        if (learned)
        {
            _learnedRate = next;
        }
        _successRun = 0;
        var changed = Math.Abs(next - State.Rate) > 1e-9;
        State = State with { Rate = next };
        return changed;
    }

    /// <summary>The highest rate growth may reach: the configured one, or less once the provider stated its pace (<see cref="CapRate"/>).</summary>
    public double MaxRate => Math.Min(_limits.MaxRate, _rateCap);

    /// <summary>
    /// Growth never takes the rate above <paramref name="cap"/> (clamped to the limits); the rate itself is set by the
    /// caller. Null lifts the cap.
    /// </summary>
    public void CapRate(double? cap) => _rateCap = cap is { } c ? Math.Clamp(c, _limits.MinRate, _limits.MaxRate) : double.PositiveInfinity;

    /// <summary>The largest burst growth may reach: max-burst, or less once the provider's burst was found smaller (<see cref="CapBurst"/>).</summary>
    public int MaxBurst => Math.Min(_limits.MaxBurst, _burstCap);

    /// <summary>
    /// The provider's burst tolerance is at most <paramref name="cap"/> (never below min-burst): the burst comes down to it
    /// and never grows above it; the rate is left alone. Returns true when the state changed.
    /// </summary>
    public bool CapBurst(int cap)
    {
        _burstCap = Math.Clamp(cap, _limits.MinBurst, _limits.MaxBurst);
        var next = State with { Burst = Math.Min(State.Burst, _burstCap) };
        var changed = next != State;
        State = next;
        return changed;
    }

    /// <summary>The rate last learned from the provider (a settle under its accepted rate, or an advertised limit); null before.</summary>
    public double? LearnedRate => _learnedRate;

    /// <summary>The provider's accepted rate as last measured (requests/s), or null without enough recent successes.</summary>
    public double? AcceptedRate(DateTimeOffset now) => _accepted.Estimate(now, EstimateMaxAge);

    // Successes older than this say nothing about the provider's limit now.
    private static readonly TimeSpan EstimateMaxAge = TimeSpan.FromSeconds(30);

    /// <summary>A 429 rate-limit answer arrived. Returns true when the state changed.</summary>
    public bool OnRateLimited(DateTimeOffset now)
    {
        _successRun = 0;
        // A 429 while an earlier decrease has not been grown back yet means 429s keep coming: hold growth back
        // for a cool-down, so growth between them cannot undo every decrease. A lone 429 (at full limits) does not.
        if (State.Burst < MaxBurst || State.Rate < MaxRate)
        {
            _holdGrowthUntil = now + _limits.CoolDown;
        }
        if (_lastDecrease is { } last && now - last < _limits.CoolDown && now >= last)
        {
            return false;
        }
        return Decrease(now, cutRate: false);
    }

    /// <summary>
    /// The provider rejected most attempts of a cool-down (<see cref="OverloadDetector"/>): it accepts less than half of
    /// what is offered, which a smaller burst cannot fix, so the burst and the rate both come down by the decrease factor
    /// in one step, whatever the cool-down — from the state before a 429 step taken within the cool-down (the overload's
    /// evidence, unless given), since that step answered the same congestion. The accepted-rate estimate is not used (nor learned from): it spans the provider's
    /// start bucket, or a bucket in debt that accepts next to nothing whatever its limit (benchmarks, scenario 7:
    /// settling on it twice took the rate to 0.6 of the real limit, then probing above it was slow), and it starts
    /// afresh from the successes of attempts sent after. Counts as the cool-down's decrease. Returns true when the state changed.
    /// </summary>
    public bool OnOverload(DateTimeOffset now) => OnOverload(now, now - _limits.CoolDown);

    /// <summary>
    /// As <see cref="OnOverload(DateTimeOffset)"/>, for 429s of attempts sent from <paramref name="evidenceSince"/> on: the
    /// cut is from the state before the first 429 step taken since then (those attempts were sent at it), so a step
    /// that answered the same congestion is not compounded. Never up.
    /// </summary>
    public bool OnOverload(DateTimeOffset now, DateTimeOffset evidenceSince)
    {
        _successRun = 0;
        _holdGrowthUntil = now + _limits.CoolDown;
        var from = _steps.BeforeFirstSince(evidenceSince, State);
        _steps.Clear();
        _lastDecrease = now;
        // What was accepted up to here (the start bucket, then a bucket in debt where rejections are charged) is no measure
        // of the limit: the next settle learns from what is accepted after the pause.
        _accepted.Clear();
        _acceptedSince = now;
        _measuringAfterOverload = true;
        _settlePendingSince = null;
        var next = new AimdState(
            Math.Min(State.Burst, Math.Max(_limits.MinBurst, (int)Math.Floor(from.Burst * _limits.DecreaseFactor))),
            Math.Min(State.Rate, Math.Max(_limits.MinRate, from.Rate * _limits.DecreaseFactor)));
        var changed = next != State;
        State = next;
        return changed;
    }

    private bool Decrease(DateTimeOffset now, bool cutRate)
    {
        _lastDecrease = now;
        _steps.Record(now, State);
        var (burst, rate) = State;
        var burstWasAtFloor = burst <= _limits.MinBurst;
        if (!burstWasAtFloor)
        {
            burst = Math.Max(_limits.MinBurst, (int)Math.Floor(burst * _limits.DecreaseFactor));
        }
        var accepted = _limits.SettleFraction > 0 ? AcceptedRate(now) : null;
        if (accepted is null && burstWasAtFloor && AwaitEstimate(now, rate))
        {
            // Right after an overload cut, before the sends at the cut rate have been measured: the cut already answered the
            // storm, and halving again on one 429 took a headerless 100/s bucket configured 10x too high from 125/s to 62/s and
            // ten seconds of additive growth back (virtual matrix, tb-none 10x at 100-300 ms: 0.76). The step settles under
            // the estimate once it has its samples (OnSuccess); the overload rule still answers a storm meanwhile.
            _settlePendingSince ??= now;
            return false;
        }
        var (next, learned) = RateStep.Decrease(rate, accepted, _limits.MinRate, _limits.DecreaseFactor, _limits.SettleFraction, cutRate || burstWasAtFloor);
        if (learned is { } l)
        {
            _learnedRate = l;
        }
        var state = new AimdState(burst, next);
        var changed = state != State;
        State = state;
        return changed;
    }

    /// <summary>
    /// Whether a 429 step at the burst floor without an estimate waits for one: only while the estimate refills after an
    /// overload cut, at a rate that fills it within <see cref="SettleWait"/>, and for that long at most.
    /// </summary>
    private bool AwaitEstimate(DateTimeOffset now, double rate) =>
        _measuringAfterOverload && _accepted.Count < EstimatorMinSamples
        && rate * SettleWait.TotalSeconds >= EstimatorMinSamples
        && (_settlePendingSince is not { } since || now - since < SettleWait);

    /// <summary>The longest a 429 step waits for the estimate after an overload cut.</summary>
    public static readonly TimeSpan SettleWait = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A 429 step is waiting for the accepted-rate estimate (<see cref="AwaitEstimate"/>): once it has its samples, the
    /// rate settles under it, as the step would have, or stays when the provider accepted it all.
    /// </summary>
    private bool SettlePending(DateTimeOffset now)
    {
        if (_settlePendingSince is null || AcceptedRate(now) is not { } accepted)
        {
            return false;
        }
        _settlePendingSince = null;
        _measuringAfterOverload = false;
        _lastDecrease = now;
        _holdGrowthUntil = now + _limits.CoolDown;
        // Not learned: a few dozen samples right after a pause read low (virtual matrix, tb-none 10x at 100-300 ms: 88/s of
        // a 100/s bucket), and growth above a learned rate probes at a fifth of the pace. The next 429 settles on a full estimate.
        var (next, _) = RateStep.Decrease(State.Rate, accepted, _limits.MinRate, _limits.DecreaseFactor, _limits.SettleFraction, cutRate: false);
        var changed = Math.Abs(next - State.Rate) > 1e-9;
        State = State with { Rate = next };
        return changed;
    }

    /// <summary>
    /// A call succeeded at <paramref name="now"/>; it counts towards the accepted-rate estimate. Returns true when the
    /// state changed. While 429s keep coming (one arrives before an earlier decrease has grown back), successes within
    /// a cool-down of it do not count towards growth: at high rates a run of <c>increase-after</c> successes takes
    /// milliseconds, and growing between the 429s would undo every decrease. A lone 429 does not hold growth back.
    /// </summary>
    public bool OnSuccess(DateTimeOffset now) => OnSuccess(now, now);

    /// <summary>
    /// As <see cref="OnSuccess(DateTimeOffset)"/>; the estimate counts the call at <paramref name="sentAt"/>: send
    /// instants follow the throttle's pacing, reply instants add the provider's latency jitter.
    /// </summary>
    /// <param name="onlyWhenUsed">
    /// Grow only while the rate is in use (the provider was seen accepting at least half of it): without a ceiling
    /// (<c>requests-per-second = auto</c>) a quiet caller would otherwise grow the rate without bound, and the first
    /// busy spell would meet a rate far above the provider's limit.
    /// </param>
    /// <param name="grow">False while something else grows the rate (slow start): the success is only counted.</param>
    public bool OnSuccess(DateTimeOffset now, DateTimeOffset sentAt, bool onlyWhenUsed = false, bool grow = true)
    {
        // After an overload only attempts sent since count: earlier ones would stretch the span over the pause.
        if (sentAt > _acceptedSince)
        {
            _accepted.RecordAccepted(sentAt, 1, now);
        }
        if (SettlePending(now))
        {
            _successRun = 0;
            return true;
        }
        if (now < _holdGrowthUntil || !grow)
        {
            _successRun = 0;
            return false;
        }
        if (_successRun == 0)
        {
            _runFirstSent = _runLastSent = sentAt;
        }
        else
        {
            _runFirstSent = sentAt < _runFirstSent ? sentAt : _runFirstSent;
            _runLastSent = sentAt > _runLastSent ? sentAt : _runLastSent;
        }
        if (onlyWhenUsed && !InUse(now))
        {
            _successRun = 0;
            return false;
        }
        return OnSuccess();
    }

    /// <summary>
    /// Whether the rate is in use: the provider was seen accepting at least half of it. Until the estimate has its minimum
    /// of successes (at the start, or after an overload emptied it: 6 s at 2.5/s), the growth run's own sends tell
    /// instead: at least half the rate between its first and last (real deployments benchmark: an auto 5/s deployment cut
    /// to 2.5/s stayed there 6 s before its first step). A quiet caller gains a few steps at most from that window: the
    /// estimate takes over after 16 successes, and stays in charge until an overload, which needs a busy caller.
    /// </summary>
    private bool InUse(DateTimeOffset now)
    {
        if (AcceptedRate(now) is { } accepted)
        {
            return accepted >= State.Rate / 2;
        }
        if (_accepted.Count >= EstimatorMinSamples)
        {
            return false;
        }
        var span = (_runLastSent - _runFirstSent).TotalSeconds;
        return span <= 0 || _successRun / span >= State.Rate / 2;
    }

    /// <summary>
    /// Starts the accepted-rate estimate afresh from attempts sent after <paramref name="now"/>: the rate just changed (a
    /// slow-start round), and a 429 at the new rate must settle under what the provider accepted at it, not under an
    /// average that spans the lower rates before.
    /// </summary>
    public void RestartEstimate(DateTimeOffset now)
    {
        _accepted.Clear();
        _acceptedSince = now;
        _measuringAfterOverload = false;
        _settlePendingSince = null;
    }

    /// <summary>
    /// A probe above the learned rate met a 429 and was taken back to the rate the provider held: the limit lies within the
    /// step, so the next probe takes half of it (a bisection, down to a sixteenth of increase-step). A whole step of 1/s is a
    /// fifth of a 5/s limit: probing 4.5 → 5.5 and back held the rate at 0.9 of the limit (virtual time and the real
    /// deployments benchmark), where 4.5 → 5 → 4.75 finds 0.95.
    /// </summary>
    public void ProbeFailed() => _probeStep = Math.Max(_limits.IncreaseStep * MinProbeStepShare, _probeStep / 2);

    /// <summary>A probed rate was held: the next probe may take twice the step (up to increase-step), as the limit may have moved.</summary>
    public void ProbeHeld() => _probeStep = Math.Min(_limits.IncreaseStep, _probeStep * 2);

    /// <summary>The step of the next probe above the learned rate.</summary>
    public double ProbeStep => _probeStep;

    /// <summary>Forgets the learned rate: it was read while the rate was still ramping (slow start), so growth above it need not be slow.</summary>
    public void ForgetLearned() => _learnedRate = null;

    /// <summary>
    /// Successes before an additive step: <c>increase-after</c>, but never more than about one second's worth at
    /// <paramref name="rate"/> (and never under 3, nor above increase-after): at 2.5 requests/s twenty successes take 8 s
    /// a step, and a model cut at a low rate would need most of a minute to grow back.
    /// </summary>
    public static int IncreaseAfter(double rate, int configured) =>
        Math.Clamp((int)Math.Ceiling(rate), Math.Min(MinIncreaseAfter, configured), configured);

    private const int MinIncreaseAfter = 3;

    /// <summary>A call succeeded (not counted towards the accepted-rate estimate nor held back). Returns true when the state changed.</summary>
    public bool OnSuccess()
    {
        var maxRate = MaxRate;
        if (State.Rate >= maxRate && State.Burst >= MaxBurst)
        {
            _successRun = 0;
            return false;
        }
        var (burst, rate) = State;
        // Above the rate learned from the provider, probe slowly (a 429 there only costs a settle step); below it,
        // grow back at the normal pace.
        var probing = _learnedRate is { } learned && rate >= learned;
        if (++_successRun < IncreaseAfter(rate, _limits.IncreaseAfter) * (probing ? ProbeSlowdown : 1))
        {
            return false;
        }
        _successRun = 0;
        var step = probing ? _probeStep : _limits.IncreaseStep;
        if (double.IsPositiveInfinity(maxRate))
        {
            // No ceiling (requests-per-second = auto): the rate never reaches one, so the burst grows back alongside it.
            rate += step;
            burst = Math.Min(MaxBurst, burst + 1);
        }
        else if (rate < maxRate)
        {
            rate = Math.Min(maxRate, rate + step);
        }
        else
        {
            burst = Math.Min(MaxBurst, burst + Math.Max(1, (int)Math.Round(_limits.IncreaseStep)));
        }
        State = new AimdState(burst, rate);
        return true;
    }

    /// <summary>
    /// New bounds (limits set at run time). A rate or burst at its old ceiling follows the new one, up or down, as a
    /// configured model starts at its ceiling; one held below it by 429s stays and grows towards the new ceiling at the
    /// normal pace. Both are then clamped into the new bounds. Returns true when the state changed.
    /// </summary>
    public bool SetLimits(AimdLimits limits)
    {
        var old = _limits;
        _limits = limits;
        _successRun = 0;
        _probeStep = limits.IncreaseStep;
        var (burst, rate) = State;
        if (rate >= old.MaxRate && !double.IsPositiveInfinity(limits.MaxRate))
        {
            rate = limits.MaxRate;
        }
        if (burst >= old.MaxBurst)
        {
            burst = limits.MaxBurst;
        }
        if (_learnedRate > limits.MaxRate)
        {
            _learnedRate = limits.MaxRate;
        }
        var next = new AimdState(Math.Clamp(burst, limits.MinBurst, limits.MaxBurst), Math.Clamp(rate, limits.MinRate, limits.MaxRate));
        var changed = next != State;
        State = next;
        return changed;
    }
}
