namespace ActorThrottle.Simulator;

/// <summary>
/// The provider zoo of the benchmark matrix: every shape (<see cref="ZooShape"/>) and the backlog its cells send. The one
/// definition shared by the HTTP benchmark (<c>tests/ActorThrottle.Benchmarks/Matrix.cs</c>) and the virtual-time matrix
/// of the tests, so both measure the same providers.
/// </summary>
public static class ProviderZoo
{
    /// <summary>The request limit of most shapes (req/s).</summary>
    public const double Rate = 100;

    /// <summary>A cell's default backlog in quick and full mode.</summary>
    public const int QuickBacklog = 400, FullBacklog = 1200;

    /// <summary>Seconds of work at the real limit in a not-configured cell, and from when it is judged.</summary>
    public const double NotConfiguredSeconds = 25, JudgedFrom = 10;

    /// <summary>Max tokens of every backlog request.</summary>
    public const int BacklogMaxTokens = 16;

    // The token limit of tokens-anthropic depends on what the backlog costs: tokenizing it takes a moment, once.
    private static readonly Lazy<double> MeanCost = new(() =>
        Enumerable.Range(0, FullBacklog).Average(i => PromptTokenCounter.Count(Prompt(i)) + 4.0 + BacklogMaxTokens));

    private static readonly Lazy<IReadOnlyList<ZooShape>> All = new(Build);

    /// <summary>The prompt of backlog request <paramref name="index"/> (one user message).</summary>
    /// <param name="index">The request's index in the backlog.</param>
    public static string Prompt(int index) => $"Say hello to request {index}.";

    /// <summary>
    /// Tokens per minute that bind at <paramref name="rps"/> requests per second of backlog requests: their mean o200k prompt
    /// tokens + 4 + <see cref="BacklogMaxTokens"/>, over <see cref="FullBacklog"/> requests.
    /// </summary>
    /// <param name="rps">Requests per second.</param>
    public static double TokensPerMinute(double rps) => Math.Round(rps * 60 * MeanCost.Value);

    /// <summary>Every shape of the matrix, in table order.</summary>
    public static IReadOnlyList<ZooShape> Shapes => All.Value;

    private static ZooShape[] Build()
    {
        var tpm = TokensPerMinute(Rate);
        return
        [
            new("tb-openai", "token bucket, OpenAI x-ratelimit-* headers", "OpenAI", Rate,
                RateLimitHeaderMode.Full, _ => [$"token-bucket:{Rate}/1s"]),
            new("tb-none", "token bucket with a small burst, no headers", "nginx limit_req burst=10 nodelay", Rate,
                RateLimitHeaderMode.None, _ => [$"token-bucket:{Rate}/1s,burst=10"]),
            new("tb-charged-openai", "token bucket, rejections charged, OpenAI headers", "providers that count 429s against the quota", Rate,
                RateLimitHeaderMode.Full, _ => [$"token-bucket:{Rate}/1s,charged"]),
            new("gcra-ietf-separate", "GCRA, burst 5, RateLimit-Limit/-Remaining/-Reset + retry-after", "throttled, redis-cell based gateways", Rate,
                RateLimitHeaderMode.IetfSeparate, _ => [$"gcra:{Rate}/1s,burst=5"]),
            new("gcra-queue-none", "leaky bucket with a 1 s queue (excess delayed, then rejected), no headers", "nginx limit_req without nodelay", Rate,
                RateLimitHeaderMode.None, _ => [$"gcra:{Rate}/1s,max-delay=1s"]),
            new("fw-clock-1s-openai", "fixed 1 s windows on the clock, OpenAI headers and retry-after-ms", "gateways with per-second quotas", Rate,
                RateLimitHeaderMode.Full, _ => [$"fixed-window:{Rate}/1s"]),
            new("fw-drift-1s-ietf7", "fixed 1 s windows from the first hit, every hit counted, IETF draft-7 RateLimit", "express-rate-limit (standardHeaders: draft-7)", Rate,
                RateLimitHeaderMode.IetfDraft7, _ => [$"fixed-window:{Rate}/1s,start=first-hit,charged"]),
            new("fw-clock-minute-openai", "per-minute fixed windows on the clock (60 s resets; 6 s in quick mode), OpenAI headers", "LiteLLM and gateways with RPM quotas", 20,
                RateLimitHeaderMode.Full, quick => [quick ? "fixed-window:120/6s" : "fixed-window:1200/60s"])
            {
                Backlog = (300, 3000),
            },
            new("sliding-log-date", "sliding log, retry-after as an HTTP date", "Redis sorted-set limiters", Rate,
                RateLimitHeaderMode.RetryAfterDate, _ => [$"sliding-log:{Rate}/1s"]),
            new("swc-ietf-structured", "sliding-window counter over 10 s, IETF structured RateLimit fields", "Kong, Cloudflare-style API gateways", Rate,
                RateLimitHeaderMode.IetfStructured, _ => [$"sliding-window:{Rate * 10}/10s"]),
            new("concurrency-none", "20 requests in flight at most, no headers (≈ 100/s at 200 ms mean latency)", "vLLM/Ollama behind a gateway's concurrency cap", Rate,
                RateLimitHeaderMode.None, _ => ["concurrency:20"])
            {
                NeedsLatency = true,
            },
            new("multi-azure", "per-10 s window plus a per-second spike cap, Azure headers (remaining only, retry-after-ms)", "Azure OpenAI", Rate,
                RateLimitHeaderMode.Azure, _ => [$"fixed-window:{Rate * 10}/10s", $"token-bucket:{Rate * 2}/1s,burst=20"]),
            new("tokens-anthropic", "requests and tokens at once (tokens bind), reconcile accounting, Anthropic headers", "Anthropic", Rate,
                RateLimitHeaderMode.Anthropic, _ => [$"token-bucket:{Rate * 2}/1s", FormattableString.Invariant($"token-bucket:{tpm}/1m,unit=tokens,burst={tpm / 60}")])
            {
                TokenAccounting = TokenAccounting.Reconcile,
                RealTpm = tpm,
                StatedRps = Rate * 2,
            },
            new("schedule-529", "limit drops to 40 % and back, then an outage answering 529 overloaded_error; retry-after seconds", "Anthropic under load, any provider's bad day", Rate,
                RateLimitHeaderMode.RetryAfterOnly, _ => [$"token-bucket:{Rate}/1s"])
            {
                Schedule = quick => quick
                    ? [Step(2, 0.4), Step(4, 1), Outage(5, 529), Step(7, 1)]
                    : [Step(3, 0.4), Step(8, 1), Outage(10, 529), Step(40, 1)],
                Backlog = (500, 4000),
            },
        ];
    }

    private static ScheduleStep Step(double at, double factor) => new() { At = TimeSpan.FromSeconds(at), Factor = factor };

    private static ScheduleStep Outage(double at, int status) => new() { At = TimeSpan.FromSeconds(at), OutageStatus = status };
}
