using ActorThrottle.Configuration;

namespace ActorThrottle.Tests.Backend;

/// <summary>Builds the <see cref="ModelSettings"/> a backend needs (route and timeout); the rest are plausible defaults.</summary>
internal static class BackendTestSettings
{
    /// <summary>A distinctive key, so a leak is easy to search for.</summary>
    public const string Key = "sk-test-SECRET-123";

    public const string Model = "gpt-test";

    public static ModelSettings For(Uri endpoint, TimeSpan? requestTimeout = null, string? key = Key, string model = Model) => new()
    {
        ModelId = model,
        Route = new ModelRoute(endpoint, key is null ? null : new ApiKey(key)),
        RequestTimeout = requestTimeout ?? TimeSpan.FromSeconds(10),
        RequestsPerSecond = 1000,
        TokensPerMinute = 0,
        TokenAccounting = TokenAccounting.Reserve,
        DefaultMaxTokens = 1024,
        MaxContextTokens = 128_000,
        MaxBurst = 10,
        MinBurst = 1,
        MinRate = 0.1,
        MaxInFlight = 5,
        QueueSize = 100,
        Retry = new RetrySettings(
            MaxAttempts: 6,
            BaseDelay: TimeSpan.FromSeconds(1),
            MaxDelay: TimeSpan.FromSeconds(30),
            MaxRetryAfter: TimeSpan.FromSeconds(120),
            Budget: 0.2,
            BudgetWindow: TimeSpan.FromSeconds(10),
            BudgetMinPerSecond: 1),
        Adapt = new AdaptSettings(
            DecreaseFactor: 0.5,
            IncreaseStep: 1,
            IncreaseAfter: 20,
            CoolDown: TimeSpan.FromSeconds(1),
            PauseOnRetryAfter: RetryAfterScope.Request),
    };
}
