namespace ActorThrottle.Messages;

/// <summary>
/// A chat completion to run through a model's throttle. Send it to the router with <c>Ask</c>;
/// the answer is exactly one <see cref="ChatReply"/> (a <see cref="ChatSuccess"/> or a <see cref="ChatFailure"/>).
/// </summary>
/// <param name="Model">The model id; it selects the model's throttle and HOCON block <c>actor-throttle.models."id"</c>.</param>
/// <param name="Messages">The conversation; at least one message.</param>
public sealed record ChatRequest(string Model, IReadOnlyList<ChatMessage> Messages)
{
    private readonly IReadOnlyList<ChatMessage> _messages = Portable(Messages);

    /// <summary>The conversation. Kept as an array or a <see cref="List{T}"/>: a collection expression's compiler-made
    /// list types cannot be rebuilt by Akka's default (JSON) serializer when the request crosses Akka.Remote.</summary>
    public IReadOnlyList<ChatMessage> Messages
    {
        get => _messages;
        init => _messages = Portable(value);
    }

    /// <summary>The caller's id for this request, echoed in the reply. Generated when not given.</summary>
    public string RequestId { get; init; } = Guid.NewGuid().ToString("N");

    /// <summary>Upper bound on completion tokens (<c>max_tokens</c>); also what the token bucket charges. Null: the model's <c>default-max-tokens</c>.</summary>
    public int? MaxTokens { get; init; }

    /// <summary>Sampling temperature, passed through.</summary>
    public double? Temperature { get; init; }

    /// <summary>
    /// A JSON object whose properties are merged into the request body (<c>response_format</c>, <c>parallel_tool_calls</c>, …).
    /// Its <c>tools</c> and <c>tool_choice</c> are used only when <see cref="Tools"/> and <see cref="ToolChoice"/> are not set.
    /// </summary>
    public string? ExtraBody { get; init; }

    private readonly IReadOnlyList<ToolDefinition>? _tools;

    /// <summary>
    /// The functions the model may call (<c>tools</c>). When it calls some, the reply's <see cref="ChatSuccess.ToolCalls"/>
    /// lists them (finish reason <c>tool_calls</c>); send the conversation again with that assistant message
    /// (<see cref="ChatMessage.Assistant(IReadOnlyList{ToolCall}, string?)"/>) and one <see cref="ChatMessage.Tool"/> result
    /// per call. Null or empty: no tools (unless <see cref="ExtraBody"/> carries them).
    /// </summary>
    public IReadOnlyList<ToolDefinition>? Tools
    {
        get => _tools;
        init => _tools = ValueList<ToolDefinition>.Portable(value);
    }

    /// <summary>Whether and which tool the model must call (<c>tool_choice</c>); null: the provider's default (auto). Needs <see cref="Tools"/>.</summary>
    public ToolChoice? ToolChoice { get; init; }

    /// <summary>The lane: interactive before batch.</summary>
    public Priority Priority { get; init; } = Priority.Interactive;

    /// <summary>Absolute UTC instant after which the caller no longer wants an answer; the request is then failed with <see cref="FailureReason.DeadlineExceeded"/>.</summary>
    public DateTimeOffset? Deadline { get; init; }

    /// <summary>
    /// The caller's W3C <c>traceparent</c> (<c>00-{trace-id}-{span-id}-{flags}</c>): the request's span becomes its child,
    /// on this node or another one. Captured from <see cref="System.Diagnostics.Activity.Current"/> when the request is created
    /// (and by the client facades when it is sent, if still empty); null: no caller trace. Plain strings so it crosses Akka.Remote.
    /// </summary>
    public string? TraceParent { get; init; } = Diagnostics.ActorThrottleTracing.CurrentTraceParent();

    /// <summary>The caller's W3C <c>tracestate</c>, carried with <see cref="TraceParent"/>.</summary>
    public string? TraceState { get; init; } = Diagnostics.ActorThrottleTracing.CurrentTraceState();

    private static IReadOnlyList<ChatMessage> Portable(IReadOnlyList<ChatMessage> messages) => messages switch
    {
        null => null!,
        ChatMessage[] or List<ChatMessage> => messages,
        _ => messages.ToArray(),
    };
}
