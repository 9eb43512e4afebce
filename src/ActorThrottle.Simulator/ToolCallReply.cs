using System.Text.Json;

namespace ActorThrottle.Simulator;

/// <summary>
/// The simulator's deterministic answer to a request with tools: while the conversation does not end with a tool result,
/// it calls a tool with <c>{}</c> arguments — the function <c>tool_choice</c> names, else the first of <c>tools</c> —
/// unless <c>tool_choice</c> is <c>"none"</c>. After a tool result it answers with text, as a model would.
/// </summary>
internal static class ToolCallReply
{
    /// <summary>The arguments every simulated call carries.</summary>
    public const string Arguments = "{}";

    /// <summary>The function to call, or null when the reply is text.</summary>
    public static string? FunctionFor(JsonElement root, JsonElement messages)
    {
        if (!root.TryGetProperty("tools", out var tools) || tools.ValueKind != JsonValueKind.Array || tools.GetArrayLength() == 0)
        {
            return null;
        }

        if (messages.ValueKind == JsonValueKind.Array && messages.GetArrayLength() > 0)
        {
            var last = messages[messages.GetArrayLength() - 1];
            if (last.ValueKind == JsonValueKind.Object && last.TryGetProperty("role", out var role) && role.ValueKind == JsonValueKind.String
                && role.GetString() == "tool")
            {
                return null;
            }
        }

        if (root.TryGetProperty("tool_choice", out var choice))
        {
            if (choice.ValueKind == JsonValueKind.String && choice.GetString() == "none")
            {
                return null;
            }

            if (choice.ValueKind == JsonValueKind.Object && FunctionName(choice) is { } chosen)
            {
                return chosen;
            }
        }

        foreach (var tool in tools.EnumerateArray())
        {
            if (FunctionName(tool) is { } name)
            {
                return name;
            }
        }

        return null;
    }

    /// <summary>The tool call id of a completion: derived from its id, so it is unique and reproducible.</summary>
    public static string CallId(string completionId) =>
        "call_" + (completionId.StartsWith("chatcmpl-", StringComparison.Ordinal) ? completionId["chatcmpl-".Length..] : completionId);

    /// <summary><c>{"type":"function","function":{"name":…}}</c> → the name.</summary>
    private static string? FunctionName(JsonElement tool) =>
        tool.ValueKind == JsonValueKind.Object
        && tool.TryGetProperty("function", out var function) && function.ValueKind == JsonValueKind.Object
        && function.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String && name.GetString() is { Length: > 0 } text
            ? text
            : null;
}
