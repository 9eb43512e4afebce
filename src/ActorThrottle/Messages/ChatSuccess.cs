namespace ActorThrottle.Messages;

/// <summary>A completed chat request.</summary>
/// <param name="ModelUsed">The model the provider says answered.</param>
/// <param name="Content">The assistant message text of the first choice; null when the model only called tools.</param>
/// <param name="FinishReason">The first choice's <c>finish_reason</c> (<c>tool_calls</c> when the model called tools).</param>
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
    string RawJson) : ChatReply(RequestId, Attempts)
{
    private readonly ValueList<ToolCall> _toolCalls = new(null);

    /// <summary>
    /// For a model with several <c>deployments</c>: the name of the deployment that answered (<c>name</c>, default its
    /// index in the list); null for a model with one endpoint.
    /// </summary>
    public string? Deployment { get; init; }

    /// <summary>
    /// The functions the model asks the caller to run (<c>choices[0].message.tool_calls</c>), in order; null when it called
    /// none. Run them, then send the conversation again with <c>ChatMessage.Assistant(ToolCalls, Content)</c> and one
    /// <see cref="ChatMessage.Tool"/> result per call. Compared by content.
    /// </summary>
    public IReadOnlyList<ToolCall>? ToolCalls
    {
        get => _toolCalls.Items;
        init => _toolCalls = new ValueList<ToolCall>(value);
    }
}
