namespace ActorThrottle.Configuration;

/// <summary>HOCON <c>retry { … }</c> of a model.</summary>
public sealed record RetrySettings(
    int MaxAttempts,
    TimeSpan BaseDelay,
    TimeSpan MaxDelay,
    TimeSpan MaxRetryAfter,
    double Budget,
    TimeSpan BudgetWindow,
    double BudgetMinPerSecond);
