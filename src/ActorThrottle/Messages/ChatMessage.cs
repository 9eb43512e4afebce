namespace ActorThrottle.Messages;

/// <summary>One message of a chat conversation: a role (<c>system</c>, <c>user</c>, <c>assistant</c>, <c>developer</c>, <c>tool</c>) and its text.</summary>
public sealed record ChatMessage(string Role, string? Content)
{
    /// <summary>The roles a request may carry.</summary>
    public static readonly IReadOnlySet<string> KnownRoles =
        new HashSet<string>(StringComparer.Ordinal) { "system", "developer", "user", "assistant", "tool" };

    public static ChatMessage System(string content) => new("system", content);
    public static ChatMessage User(string content) => new("user", content);
    public static ChatMessage Assistant(string content) => new("assistant", content);
}
