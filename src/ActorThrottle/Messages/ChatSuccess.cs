namespace ActorThrottle.Messages;

/// <summary>A completed chat request.</summary>
/// <param name="ModelUsed">The model the provider says answered.</param>
/// <param name="Content">The assistant message text of the first choice.</param>
/// <param name="FinishReason">The first choice's <c>finish_reason</c>.</param>
/// <param name="Usage">Token usage as reported, when reported.</param>
/// <param name="Latency">From the first attempt's start to this answer.</param>
/// <param name="RawJson">The provider's response body, for anything not mapped here.</param>
public sealed record ChatSuccess(
    string RequestId,
    string ModelUsed,
    string? Content,
    string? FinishReason,
    TokenUsage? Usage,
    int Attempts,
    TimeSpan Latency,
    string RawJson) : ChatReply(RequestId, Attempts);
