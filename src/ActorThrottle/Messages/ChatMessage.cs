namespace ActorThrottle.Messages;

/// <summary>
/// One message of a chat conversation: a role (<c>system</c>, <c>user</c>, <c>assistant</c>, <c>developer</c>, <c>tool</c>)
/// and its text. An assistant message may instead (or as well) carry the <see cref="ToolCalls"/> the model made, with a
/// null <see cref="Content"/>; a <c>tool</c> message answers one of them: its <see cref="ToolCallId"/> names the call and
/// its content is the result.
/// </summary>
/// <param name="Content">The text; null only for an assistant message with tool calls.</param>
public sealed record ChatMessage(string Role, string? Content)
{
    /// <summary>The roles a request may carry.</summary>
    public static readonly IReadOnlySet<string> KnownRoles =
        new HashSet<string>(StringComparer.Ordinal) { "system", "developer", "user", "assistant", "tool" };

    private readonly ValueList<ToolCall> _toolCalls;

    /// <summary>
    /// Assistant messages only: the functions the model asked to call (sent as <c>tool_calls</c>). Null or empty when none.
    /// Compared by content in <see cref="Equals(ChatMessage)"/>.
    /// </summary>
    public IReadOnlyList<ToolCall>? ToolCalls
    {
        get => _toolCalls.Items;
        init => _toolCalls = new ValueList<ToolCall>(value);
    }

    /// <summary>Tool messages only: the <see cref="ToolCall.Id"/> this message answers (sent as <c>tool_call_id</c>).</summary>
    public string? ToolCallId { get; init; }

    public static ChatMessage System(string content) => new("system", content);
    public static ChatMessage User(string content) => new("user", content);
    public static ChatMessage Assistant(string content) => new("assistant", content);

    /// <summary>The assistant's turn that called tools, as the provider answered it (<see cref="ChatSuccess.ToolCalls"/>, <see cref="ChatSuccess.Content"/>).</summary>
    public static ChatMessage Assistant(IReadOnlyList<ToolCall> toolCalls, string? content = null) => new("assistant", content) { ToolCalls = toolCalls };

    /// <summary>The result of the tool call <paramref name="toolCallId"/>: a string as is, or JSON.</summary>
    public static ChatMessage Tool(string toolCallId, string content) => new("tool", content) { ToolCallId = toolCallId };
}
