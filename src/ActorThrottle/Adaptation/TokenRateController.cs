namespace ActorThrottle.Adaptation;

/// <summary>
/// AIMD on a model's token rate, as <see cref="AimdController"/> does on its request rate: a 429 the provider blamed on
/// its token limit (<see cref="Backend.RateLimitCause"/>) lowers the rate at most once per cool-down — to
/// <c>settle-fraction</c> of the tokens per second the provider was seen accepting when that is lower, else by the settle
/// margin or the decrease factor (<see cref="RateStep"/>); a run of successes grows it back by <c>increase-step</c>
/// requests per second's worth of tokens (at the mean cost of recent requests), five times slower above the rate learned
/// from the provider. The token bucket's capacity (<c>tokens-burst</c>) is not adapted. Pure state machine: time is passed in.
/// </summary>
internal sealed class TokenRateController
{
    private const int EstimatorSamples = 64;
    private const int EstimatorMinSamples = 16;
    private const int ProbeSlowdown = 5;
    // Weight of the newest cost in the running mean: about the last 16 requests.
    private const double CostSmoothing = 1.0 / 16;
    private static readonly TimeSpan EstimateMaxAge = TimeSpan.FromSeconds(30);

    // Not readonly: SetLimits replaces it when a model's limits change at run time.
    private TokenRateLimits _limits;
    private readonly AcceptRateEstimator _accepted = new(EstimatorSamples, EstimatorMinSamples);
    private DateTimeOffset? _lastDecrease;
    private readonly StepHistory<double> _steps = new();
    private DateTimeOffset _acceptedSince = DateTimeOffset.MinValue;
    private DateTimeOffset _holdGrowthUntil = DateTimeOffset.MinValue;
    private double? _learned;
    private double? _meanCost;
    private int _successRun;

    public TokenRateController(TokenRateLimits limits)
    {
        _limits = limits;
        TokensPerMinute = limits.MaxTokensPerMinute;
    }

    /// <summary>Starts from <paramref name="startTokensPerMinute"/> (a limit the provider advertised), clamped to the limits.</summary>
    public TokenRateController(TokenRateLimits limits, double startTokensPerMinute) : this(limits)
    {
        TokensPerMinute = Math.Clamp(startTokensPerMinute, limits.MinTokensPerMinute, limits.MaxTokensPerMinute);
    }

    /// <summary>Sets the token rate to a limit the provider advertised (clamped; growth above it probes slowly). True when it changed.</summary>
    public bool Seed(double tokensPerMinute)
    {
        var next = Math.Clamp(tokensPerMinute, _limits.MinTokensPerMinute, _limits.MaxTokensPerMinute);
        _learned = next;
        _successRun = 0;
        var changed = Math.Abs(next - TokensPerMinute) > 1e-9;
        TokensPerMinute = next;
        return changed;
    }

    /// <summary>
    /// Back to <paramref name="tokensPerMinute"/> (clamped) after an overload at or under the limit the provider states:
    /// the storm was its bucket emptied, not the rate. What was learned is left alone. True when it changed.
    /// </summary>
    public bool Restore(double tokensPerMinute)
    {
        var next = Math.Clamp(tokensPerMinute, _limits.MinTokensPerMinute, _limits.MaxTokensPerMinute);
        _successRun = 0;
        var changed = Math.Abs(next - TokensPerMinute) > 1e-9;
        TokensPerMinute = next;
        return changed;
    }

    /// <summary>The token rate before the first 429 step taken since <paramref name="since"/> (the rate now when none was): what an overload cuts from.</summary>
    public double BeforeStepsSince(DateTimeOffset since) => _steps.BeforeFirstSince(since, TokensPerMinute);

    /// <summary>The token rate AIMD has chosen, in tokens per minute.</summary>
    public double TokensPerMinute { get; private set; }

    /// <summary>Tokens per minute the provider was last seen accepting, or null without enough recent successes.</summary>
    public double? AcceptedTokensPerMinute(DateTimeOffset now) => _accepted.Estimate(now, EstimateMaxAge) * 60;

    /// <summary>A 429 on the token limit arrived. Returns true when the rate changed.</summary>
    public bool OnRateLimited(DateTimeOffset now)
    {
        _successRun = 0;
        if (TokensPerMinute < _limits.MaxTokensPerMinute)
        {
            _holdGrowthUntil = now + _limits.CoolDown;
        }
        if (_lastDecrease is { } last && now - last < _limits.CoolDown && now >= last)
        {
            return false;
        }
        return Decrease(now);
    }

    /// <summary>
    /// Most attempts of a cool-down were rejected on the token limit: the rate comes down by the decrease factor now,
    /// whatever the cool-down and the estimate, from the rate before a 429 step of the same cool-down; the estimate
    /// starts afresh (as <see cref="AimdController.OnOverload(DateTimeOffset, DateTimeOffset)"/>).
    /// </summary>
    public bool OnOverload(DateTimeOffset now) => OnOverload(now, now - _limits.CoolDown);

    /// <summary>As <see cref="AimdController.OnOverload(DateTimeOffset, DateTimeOffset)"/>: from the rate before the first 429 step since <paramref name="evidenceSince"/>.</summary>
    public bool OnOverload(DateTimeOffset now, DateTimeOffset evidenceSince)
    {
        _successRun = 0;
        _holdGrowthUntil = now + _limits.CoolDown;
        var from = _steps.BeforeFirstSince(evidenceSince, TokensPerMinute);
        _steps.Clear();
        _lastDecrease = now;
        _accepted.Clear();
        _acceptedSince = now;
        var next = Math.Min(TokensPerMinute, Math.Max(_limits.MinTokensPerMinute, from * _limits.DecreaseFactor));
        var changed = Math.Abs(next - TokensPerMinute) > 1e-9;
        TokensPerMinute = next;
        return changed;
    }

    /// <summary>
    /// A call sent at <paramref name="sentAt"/> costing <paramref name="cost"/> tokens succeeded at <paramref name="now"/>.
    /// Returns true when the rate changed.
    /// </summary>
    public bool OnSuccess(DateTimeOffset now, DateTimeOffset sentAt, long cost)
    {
        var weight = Math.Max(0, cost);
        if (sentAt > _acceptedSince)
        {
            _accepted.RecordAccepted(sentAt, weight);
        }
        _meanCost = _meanCost is { } m ? m + CostSmoothing * (weight - m) : weight;
        if (now < _holdGrowthUntil)
        {
            _successRun = 0;
            return false;
        }
        if (TokensPerMinute >= _limits.MaxTokensPerMinute)
        {
            _successRun = 0;
            return false;
        }
        var probing = _learned is { } learned && TokensPerMinute >= learned;
        if (++_successRun < _limits.IncreaseAfter * (probing ? ProbeSlowdown : 1))
        {
            return false;
        }
        _successRun = 0;
        var step = Math.Max(1, _limits.IncreaseStep * 60 * (_meanCost ?? 1));
        TokensPerMinute = Math.Min(_limits.MaxTokensPerMinute, TokensPerMinute + step);
        return true;
    }

    private bool Decrease(DateTimeOffset now)
    {
        _lastDecrease = now;
        _steps.Record(now, TokensPerMinute);
        var accepted = _limits.SettleFraction > 0 ? AcceptedTokensPerMinute(now) : null;
        var (next, learned) = RateStep.Decrease(TokensPerMinute, accepted, _limits.MinTokensPerMinute, _limits.DecreaseFactor, _limits.SettleFraction, cutRate: true);
        if (learned is { } l)
        {
            _learned = l;
        }
        var changed = Math.Abs(next - TokensPerMinute) > 1e-9;
        TokensPerMinute = next;
        return changed;
    }

    /// <summary>
    /// New bounds (limits set at run time): a token rate at its old ceiling follows the new one; one held below it by 429s
    /// stays and grows towards it. Then clamped into the new bounds. Returns true when the rate changed.
    /// </summary>
    public bool SetLimits(TokenRateLimits limits)
    {
        var old = _limits;
        _limits = limits;
        _successRun = 0;
        var next = TokensPerMinute >= old.MaxTokensPerMinute ? limits.MaxTokensPerMinute : TokensPerMinute;
        if (_learned > limits.MaxTokensPerMinute)
        {
            _learned = limits.MaxTokensPerMinute;
        }
        next = Math.Clamp(next, limits.MinTokensPerMinute, limits.MaxTokensPerMinute);
        var changed = Math.Abs(next - TokensPerMinute) > 1e-9;
        TokensPerMinute = next;
        return changed;
    }
}
