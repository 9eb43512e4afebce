using System.Globalization;
using ActorThrottle.Configuration;

namespace ActorThrottle.Limits;

/// <summary>
/// New limits for a running model (<see cref="SetModelLimits"/>, <c>ActorThrottleClient.SetLimitsAsync</c>): each field
/// left null keeps its current value. The names are the HOCON keys of a model block, in PascalCase. Every field here can
/// change while requests are queued and in flight without losing one; the keys that cannot (endpoint, key, tokens-burst,
/// retry and adapt parameters, a pipeline larger than the one built at start) are not here, or are rejected by the model
/// with an error saying so.
/// </summary>
public sealed record ModelLimits
{
    /// <summary><c>requests-per-second</c>: the new ceiling (requests/s, &gt; 0). Null: unchanged (or <see cref="AutoRate"/>).</summary>
    public double? RequestsPerSecond { get; init; }

    /// <summary><c>requests-per-second = auto</c>: no ceiling; the rate goes on from where it is, seeded from headers or probed. Excludes <see cref="RequestsPerSecond"/>.</summary>
    public bool AutoRate { get; init; }

    /// <summary><c>tokens-per-minute</c>: the new token ceiling (tokens/min); 0 removes the token limit. Null: unchanged.</summary>
    public long? TokensPerMinute { get; init; }

    /// <summary><c>max-burst</c>: the largest burst window (&gt;= 1, &gt;= min-burst). Null: unchanged.</summary>
    public int? MaxBurst { get; init; }

    /// <summary><c>min-burst</c>: the smallest burst window AIMD shrinks to (&gt;= 1). Null: unchanged.</summary>
    public int? MinBurst { get; init; }

    /// <summary><c>min-rate</c>: the lowest rate AIMD goes to (requests/s, &gt; 0). Null: unchanged.</summary>
    public double? MinRate { get; init; }

    /// <summary>
    /// <c>max-in-flight</c>: concurrent calls (&gt;= 1). Lowered or raised live up to the value the model's pipeline was built
    /// with (its <c>max-in-flight</c> at start); above that it is rejected (the stream's parallelism is fixed when it runs).
    /// </summary>
    public int? MaxInFlight { get; init; }

    /// <summary>
    /// <c>queue-size</c>: most requests the model holds (&gt;= 1). Lowered live (requests already held above it stay and are
    /// answered; new ones get QueueFull until below) or raised up to the size the queue was built with; above that it is rejected.
    /// </summary>
    public int? QueueSize { get; init; }

    /// <summary>
    /// The limits that take <paramref name="from"/> to <paramref name="to"/>: only the fields that differ are set (null when
    /// none do). What differs outside these fields (endpoint, retry, adapt, …) is not here: it cannot change live.
    /// </summary>
    public static ModelLimits? Between(ModelSettings from, ModelSettings to)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        var limits = new ModelLimits
        {
            RequestsPerSecond = !to.AutoRate && (from.AutoRate || !Same(from.RequestsPerSecond, to.RequestsPerSecond)) ? to.RequestsPerSecond : null,
            AutoRate = to.AutoRate && !from.AutoRate,
            TokensPerMinute = from.TokensPerMinute != to.TokensPerMinute || from.AutoTokens != to.AutoTokens ? to.TokensPerMinute : null,
            MaxBurst = from.MaxBurst != to.MaxBurst ? to.MaxBurst : null,
            MinBurst = from.MinBurst != to.MinBurst ? to.MinBurst : null,
            MinRate = !Same(from.MinRate, to.MinRate) ? to.MinRate : null,
            MaxInFlight = from.MaxInFlight != to.MaxInFlight ? to.MaxInFlight : null,
            QueueSize = from.QueueSize != to.QueueSize ? to.QueueSize : null,
        };
        return limits.IsEmpty ? null : limits;
    }

    private static bool Same(double a, double b) => Math.Abs(a - b) <= 1e-9;

    /// <summary>True when no field is set.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsEmpty => RequestsPerSecond is null && !AutoRate && TokensPerMinute is null && MaxBurst is null && MinBurst is null
        && MinRate is null && MaxInFlight is null && QueueSize is null;

    /// <summary>The first invalid field on its own (ranges, and auto with a number), or null: <c>(field, message)</c> with the field's HOCON key.</summary>
    public (string Field, string Message)? Validate()
    {
        if (AutoRate && RequestsPerSecond is not null)
        {
            return Error("requests-per-second", nameof(RequestsPerSecond), Number(RequestsPerSecond.Value), "is set together with AutoRate; give a number or auto, not both.");
        }
        if (RequestsPerSecond is { } rps && !(rps > 0 && double.IsFinite(rps)))
        {
            return Error("requests-per-second", nameof(RequestsPerSecond), Number(rps), "must be a finite number greater than 0 (or AutoRate).");
        }
        if (TokensPerMinute is < 0)
        {
            return Error("tokens-per-minute", nameof(TokensPerMinute), TokensPerMinute.Value.ToString(CultureInfo.InvariantCulture), "must be at least 0 (0: no token limit).");
        }
        if (MaxBurst is < 1)
        {
            return Error("max-burst", nameof(MaxBurst), MaxBurst.Value.ToString(CultureInfo.InvariantCulture), "must be at least 1.");
        }
        if (MinBurst is < 1)
        {
            return Error("min-burst", nameof(MinBurst), MinBurst.Value.ToString(CultureInfo.InvariantCulture), "must be at least 1.");
        }
        if (MinRate is { } minRate && !(minRate > 0 && double.IsFinite(minRate)))
        {
            return Error("min-rate", nameof(MinRate), Number(minRate), "must be a finite number greater than 0.");
        }
        if (MaxInFlight is < 1)
        {
            return Error("max-in-flight", nameof(MaxInFlight), MaxInFlight.Value.ToString(CultureInfo.InvariantCulture), "must be at least 1.");
        }
        if (QueueSize is < 1)
        {
            return Error("queue-size", nameof(QueueSize), QueueSize.Value.ToString(CultureInfo.InvariantCulture), "must be at least 1.");
        }
        return null;
    }

    /// <summary>
    /// <paramref name="current"/> with these limits applied, or the first field that conflicts with the rest of the model's
    /// settings (min-burst above max-burst, min-rate above the rate ceiling) or with the pipeline it runs
    /// (<paramref name="builtMaxInFlight"/>, <paramref name="builtQueueSize"/>).
    /// </summary>
    public (ModelSettings? Settings, (string Field, string Message)? Error) ApplyTo(ModelSettings current, int builtMaxInFlight, int builtQueueSize)
    {
        ArgumentNullException.ThrowIfNull(current);
        if (Validate() is { } invalid)
        {
            return (null, invalid);
        }
        var next = current with
        {
            RequestsPerSecond = RequestsPerSecond ?? (AutoRate && !current.AutoRate ? current.Adapt.AutoStartRate : current.RequestsPerSecond),
            AutoRate = RequestsPerSecond is null && (AutoRate || current.AutoRate),
            TokensPerMinute = TokensPerMinute ?? current.TokensPerMinute,
            AutoTokens = TokensPerMinute is null && current.AutoTokens,
            MaxBurst = MaxBurst ?? current.MaxBurst,
            MinBurst = MinBurst ?? current.MinBurst,
            MinRate = MinRate ?? current.MinRate,
            MaxInFlight = MaxInFlight ?? current.MaxInFlight,
            QueueSize = QueueSize ?? current.QueueSize,
        };
        if (next.MinBurst > next.MaxBurst)
        {
            return (null, MinBurst is not null
                ? Error("min-burst", nameof(MinBurst), Int(next.MinBurst), $"must not exceed max-burst ({next.MaxBurst}).")
                : Error("max-burst", nameof(MaxBurst), Int(next.MaxBurst), $"must be at least min-burst ({next.MinBurst})."));
        }
        if (next.MinRate > next.RequestsPerSecond)
        {
            return (null, MinRate is not null || RequestsPerSecond is null
                ? Error("min-rate", nameof(MinRate), Number(next.MinRate), next.AutoRate
                    ? $"must not exceed adapt.auto-start-rate ({Number(next.RequestsPerSecond)}), where requests-per-second = auto starts."
                    : $"must not exceed requests-per-second ({Number(next.RequestsPerSecond)}).")
                : Error("requests-per-second", nameof(RequestsPerSecond), Number(next.RequestsPerSecond), $"must be at least min-rate ({Number(next.MinRate)}); lower min-rate too."));
        }
        if (next.MaxInFlight > builtMaxInFlight)
        {
            return (null, Error("max-in-flight", nameof(MaxInFlight), Int(next.MaxInFlight),
                $"cannot be raised live above {builtMaxInFlight}, the max-in-flight the model's pipeline was built with (its parallelism is fixed while it runs); restart to raise it."));
        }
        if (next.QueueSize > builtQueueSize)
        {
            return (null, Error("queue-size", nameof(QueueSize), Int(next.QueueSize),
                $"cannot be raised live above {builtQueueSize}, the queue-size the model's queue was built with; restart to raise it."));
        }
        return (next, null);
    }

    private static (string, string) Error(string key, string property, string value, string rule) =>
        (key, $"Invalid limit {key} ({nameof(ModelLimits)}.{property}) = {value}: {rule}");

    private static string Number(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);

    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);
}
