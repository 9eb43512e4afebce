using ActorThrottle.Messages;

namespace ActorThrottle.Backend;

/// <summary>The result of one call to the provider, free of SDK types.</summary>
public sealed record BackendResponse(OutcomeKind Kind)
{
    /// <summary>HTTP status; null when no HTTP answer arrived (timeout, connection failure).</summary>
    public int? StatusCode { get; init; }
    public string? Content { get; init; }
    /// <summary>
    /// The first choice's function calls (<c>message.tool_calls</c>, or assembled from a stream's deltas); null when none.
    /// They become the reply's <see cref="ChatSuccess.ToolCalls"/>.
    /// </summary>
    public IReadOnlyList<ToolCall>? ToolCalls { get; init; }
    public string? FinishReason { get; init; }
    public string? ModelUsed { get; init; }
    public TokenUsage? Usage { get; init; }
    /// <summary>The response body as received (successes; error bodies are summarised in <see cref="ErrorMessage"/>).</summary>
    public string? RawJson { get; init; }
    /// <summary>The error body's <c>code</c>, e.g. <c>rate_limit_exceeded</c>.</summary>
    public string? ErrorCode { get; init; }
    public string? ErrorMessage { get; init; }
    public RateLimitInfo RateLimits { get; init; } = RateLimitInfo.None;
}
