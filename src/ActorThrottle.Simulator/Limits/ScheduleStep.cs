namespace ActorThrottle.Simulator;

/// <summary>
/// One step of a model's scripted schedule: from <see cref="At"/> after the model's first request, every quota is
/// multiplied by <see cref="Factor"/>, or (with <see cref="OutageStatus"/>) every request is answered with that status
/// until the next step.
/// </summary>
public sealed record ScheduleStep
{
    /// <summary>When the step starts, measured from the model's first request.</summary>
    public TimeSpan At { get; init; }

    /// <summary>Multiplier of every configured quota (1 = as configured; 0.4 = a drop to 40 %).</summary>
    public double Factor { get; init; } = 1;

    /// <summary>null = serve; 503 (OpenAI's <c>server_error</c>) or 529 (Anthropic's <c>overloaded_error</c>) = an outage.</summary>
    public int? OutageStatus { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the field (prefixed with <paramref name="path"/>).</summary>
    public void Validate(string path)
    {
        if (At < TimeSpan.Zero)
        {
            throw new ArgumentException($"{path}.{nameof(At)} must not be negative, was {At}.", nameof(At));
        }

        if (!double.IsFinite(Factor) || Factor <= 0)
        {
            throw new ArgumentException($"{path}.{nameof(Factor)} must be a finite number > 0, was {Factor}.", nameof(Factor));
        }

        if (OutageStatus is { } status && status is not (500 or 502 or 503 or 504 or 529))
        {
            throw new ArgumentException($"{path}.{nameof(OutageStatus)} must be 500, 502, 503, 504 or 529, was {status}.", nameof(OutageStatus));
        }
    }
}
