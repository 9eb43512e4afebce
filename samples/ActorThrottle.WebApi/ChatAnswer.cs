namespace ActorThrottle.WebApi;

/// <summary>The answer of <c>POST /chat</c>.</summary>
public sealed record ChatAnswer(string RequestId, string ModelUsed, string? Content, string? FinishReason, int Attempts, double LatencyMs,
    int? PromptTokens, int? CompletionTokens);
