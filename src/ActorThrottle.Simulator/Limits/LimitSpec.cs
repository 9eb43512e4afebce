namespace ActorThrottle.Simulator;

/// <summary>
/// One limit of a simulated model: an algorithm counting a unit against a quota per window. A model may have
/// several (per second and per minute, requests and tokens); a request is admitted only when all admit it.
/// </summary>
public sealed record LimitSpec
{
    /// <summary>The policy name the IETF dialects report (e.g. <c>default</c>, <c>per-minute</c>); blank = derived from unit and window.</summary>
    public string? Name { get; init; }

    /// <summary>The algorithm.</summary>
    public LimitAlgorithm Algorithm { get; init; } = LimitAlgorithm.TokenBucket;

    /// <summary>What is counted.</summary>
    public LimitUnit Unit { get; init; } = LimitUnit.Requests;

    /// <summary>Units allowed per <see cref="Window"/>; for <see cref="LimitAlgorithm.Concurrency"/>, requests in flight.</summary>
    public double Quota { get; init; }

    /// <summary>The window the quota is counted over (ignored by <see cref="LimitAlgorithm.Concurrency"/>).</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Token bucket: its capacity (null = the quota). GCRA: cells that may arrive at once (null = 1, strict pacing).
    /// Ignored by the window algorithms, whose burst is the quota.
    /// </summary>
    public double? Burst { get; init; }

    /// <summary>Fixed windows only: where a window starts.</summary>
    public WindowStart WindowStart { get; init; } = WindowStart.Clock;

    /// <summary>GCRA only: the longest a request over the limit is delayed instead of rejected (0 = no queue).</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.Zero;

    /// <summary>Whether a rejected request is counted against this limit; null = the model's <see cref="ModelSettings.ChargeRejected"/>.</summary>
    public bool? ChargeRejected { get; init; }

    /// <summary>The name reported in headers and 429 messages.</summary>
    public string DisplayName => string.IsNullOrWhiteSpace(Name) ? DefaultName(Unit, Window, Algorithm) : Name!;

    /// <summary>Throws <see cref="ArgumentException"/> naming the field (prefixed with <paramref name="path"/>).</summary>
    public void Validate(string path)
    {
        if (!double.IsFinite(Quota) || Quota <= 0)
        {
            throw new ArgumentException($"{path}.{nameof(Quota)} must be a finite number > 0, was {Quota}.", nameof(Quota));
        }

        if (Algorithm == LimitAlgorithm.Concurrency)
        {
            if (Unit != LimitUnit.Requests || Quota != Math.Floor(Quota))
            {
                throw new ArgumentException($"{path}: a concurrency limit counts requests in flight: {nameof(Unit)} must be requests and {nameof(Quota)} a whole number, was {Unit} and {Quota}.", nameof(Quota));
            }
        }
        else if (Window <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{path}.{nameof(Window)} must be > 0, was {Window}.", nameof(Window));
        }

        if (Burst is { } burst && (!double.IsFinite(burst) || burst < 1))
        {
            throw new ArgumentException($"{path}.{nameof(Burst)} must be >= 1 when set, was {burst}.", nameof(Burst));
        }

        if (MaxDelay < TimeSpan.Zero)
        {
            throw new ArgumentException($"{path}.{nameof(MaxDelay)} must not be negative, was {MaxDelay}.", nameof(MaxDelay));
        }

        if (MaxDelay > TimeSpan.Zero && Algorithm != LimitAlgorithm.Gcra)
        {
            throw new ArgumentException($"{path}.{nameof(MaxDelay)} applies only to the gcra algorithm, was set on {Algorithm}.", nameof(MaxDelay));
        }
    }

    private static string DefaultName(LimitUnit unit, TimeSpan window, LimitAlgorithm algorithm)
    {
        if (algorithm == LimitAlgorithm.Concurrency)
        {
            return "concurrency";
        }

        var per = window == TimeSpan.FromSeconds(1) ? "second"
            : window == TimeSpan.FromMinutes(1) ? "minute"
            : window.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) + "s";
        return $"{(unit == LimitUnit.Requests ? "requests" : "tokens")}-per-{per}";
    }
}
