namespace ActorThrottle.Adaptation;

/// <summary>
/// Additive-increase / multiplicative-decrease on a model's burst window and rate.
/// A 429 shrinks the burst (and the rate once the burst is at its floor), at most once per
/// cool-down so one burst of 429s counts once; a run of successes grows the rate back first,
/// then the burst, up to the configured values. Pure state machine: time is passed in.
/// </summary>
public sealed class AimdController
{
    private readonly AimdLimits _limits;
    private DateTimeOffset? _lastDecrease;
    private DateTimeOffset _holdGrowthUntil = DateTimeOffset.MinValue;
    private int _successRun;

    public AimdController(AimdLimits limits)
    {
        _limits = limits;
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

    /// <summary>A 429 rate-limit answer arrived. Returns true when the state changed.</summary>
    public bool OnRateLimited(DateTimeOffset now)
    {
        _successRun = 0;
        // A 429 while an earlier decrease has not been grown back yet means 429s keep coming: hold growth back
        // for a cool-down, so growth between them cannot undo every decrease. A lone 429 (at full limits) does not.
        if (State.Burst < _limits.MaxBurst || State.Rate < _limits.MaxRate)
        {
            _holdGrowthUntil = now + _limits.CoolDown;
        }
        if (_lastDecrease is { } last && now - last < _limits.CoolDown && now >= last)
        {
            return false;
        }
        _lastDecrease = now;
        var (burst, rate) = State;
        if (burst > _limits.MinBurst)
        {
            burst = Math.Max(_limits.MinBurst, (int)Math.Floor(burst * _limits.DecreaseFactor));
        }
        else
        {
            rate = Math.Max(_limits.MinRate, rate * _limits.DecreaseFactor);
        }
        var next = new AimdState(burst, rate);
        var changed = next != State;
        State = next;
        return changed;
    }

    /// <summary>
    /// A call succeeded at <paramref name="now"/>. Returns true when the state changed. While 429s keep coming
    /// (one arrives before an earlier decrease has grown back), successes within a cool-down of it do not count
    /// towards growth: at high rates a run of <c>increase-after</c> successes takes milliseconds, and growing
    /// between the 429s would undo every decrease before the burst reached its floor, so the rate would never
    /// come down. A lone 429 does not hold growth back.
    /// </summary>
    public bool OnSuccess(DateTimeOffset now)
    {
        if (now < _holdGrowthUntil)
        {
            _successRun = 0;
            return false;
        }
        return OnSuccess();
    }

    /// <summary>A call succeeded. Returns true when the state changed.</summary>
    public bool OnSuccess()
    {
        if (State.Rate >= _limits.MaxRate && State.Burst >= _limits.MaxBurst)
        {
            _successRun = 0;
            return false;
        }
        if (++_successRun < _limits.IncreaseAfter)
        {
            return false;
        }
        _successRun = 0;
        var (burst, rate) = State;
        if (rate < _limits.MaxRate)
        {
            rate = Math.Min(_limits.MaxRate, rate + _limits.IncreaseStep);
        }
        else
        {
            burst = Math.Min(_limits.MaxBurst, burst + Math.Max(1, (int)Math.Round(_limits.IncreaseStep)));
        }
        State = new AimdState(burst, rate);
        return true;
    }
}
