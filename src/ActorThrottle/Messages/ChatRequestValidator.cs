using System.Globalization;
using System.Text.Json;

namespace ActorThrottle.Messages;

/// <summary>Checks a request before anything is sent; the message names the offending field.</summary>
public static class ChatRequestValidator
{
    /// <summary>Null when the request is well-formed; otherwise why not.</summary>
    public static string? Validate(ChatRequest? request)
    {
        if (request is null)
        {
            return "The request is null.";
        }
        if (string.IsNullOrWhiteSpace(request.RequestId))
        {
            return "RequestId must not be blank.";
        }
        if (string.IsNullOrWhiteSpace(request.Model))
        {
            return "Model must not be blank.";
        }
        if (request.Messages is null || request.Messages.Count == 0)
        {
            return "Messages must hold at least one message.";
        }
        for (var i = 0; i < request.Messages.Count; i++)
        {
            var message = request.Messages[i];
            if (message is null)
            {
                return $"Messages[{i}] is null.";
            }
            if (string.IsNullOrWhiteSpace(message.Role))
            {
                return $"Messages[{i}].Role must not be blank.";
            }
            if (!ChatMessage.KnownRoles.Contains(message.Role))
            {
                return $"Messages[{i}].Role '{message.Role}' is not one of: {string.Join(", ", ChatMessage.KnownRoles)}.";
            }
            var hasToolCalls = message.ToolCalls is { Count: > 0 };
            if (message.Content is null && !(hasToolCalls && message.Role == "assistant"))
            {
                return $"Messages[{i}].Content must not be null.";
            }
            if (hasToolCalls && ValidateToolCalls(message, $"Messages[{i}]") is { } toolCallError)
            {
                return toolCallError;
            }
            if (message.Role == "tool" && string.IsNullOrWhiteSpace(message.ToolCallId))
            {
                return $"Messages[{i}].ToolCallId must not be blank: a tool message names the tool call it answers.";
            }
        }
        if (ValidateTools(request) is { } toolsError)
        {
            return toolsError;
        }
        if (request.MaxTokens is < 1)
        {
            return $"MaxTokens must be at least 1 (was {request.MaxTokens}).";
        }
        if (request.Temperature is { } t && (double.IsNaN(t) || t < 0 || t > 2))
        {
            return $"Temperature must be between 0 and 2 (was {t.ToString(CultureInfo.InvariantCulture)}).";
        }
        if (!Enum.IsDefined(request.Priority))
        {
            return $"Priority must be one of: {string.Join(", ", Enum.GetNames<Priority>())} (was {(int)request.Priority}).";
        }
        if (request.ExtraBody is { } extra && !string.IsNullOrWhiteSpace(extra))
        {
            try
            {
                using var document = JsonDocument.Parse(extra);
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                {
                    return "ExtraBody must be a JSON object.";
                }
            }
            catch (JsonException e)
            {
                return $"ExtraBody is not valid JSON: {e.Message}";
            }
        }
        return null;
    }

    private static string? ValidateToolCalls(ChatMessage message, string path)
    {
        if (message.Role != "assistant")
        {
            return $"{path}.ToolCalls: only assistant messages carry tool calls (the role is '{message.Role}').";
        }
        for (var j = 0; j < message.ToolCalls!.Count; j++)
        {
            var call = message.ToolCalls[j];
            var at = $"{path}.ToolCalls[{j}]";
            if (call is null)
            {
                return $"{at} is null.";
            }
            if (string.IsNullOrWhiteSpace(call.Id))
            {
                return $"{at}.Id must not be blank.";
            }
            if (string.IsNullOrWhiteSpace(call.Name))
            {
                return $"{at}.Name must not be blank.";
            }
            if (call.Arguments is null)
            {
                return $"{at}.Arguments must not be null (\"{{}}\" for none).";
            }
            if (JsonError(call.Arguments) is { } error)
            {
                return $"{at}.Arguments is not valid JSON: {error}";
            }
        }
        return null;
    }

    private static string? ValidateTools(ChatRequest request)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < (request.Tools?.Count ?? 0); i++)
        {
            var tool = request.Tools![i];
            if (tool is null)
            {
                return $"Tools[{i}] is null.";
            }
            if (string.IsNullOrWhiteSpace(tool.Name))
            {
                return $"Tools[{i}].Name must not be blank.";
            }
            if (!names.Add(tool.Name))
            {
                return $"Tools[{i}].Name '{tool.Name}' is declared twice.";
            }
            if (tool.Parameters is not null)
            {
                if (JsonError(tool.Parameters, out var kind) is { } error)
                {
                    return $"Tools[{i}].Parameters is not valid JSON: {error}";
                }
                if (kind != JsonValueKind.Object)
                {
                    return $"Tools[{i}].Parameters must be a JSON object (a JSON Schema).";
                }
            }
        }
        if (request.ToolChoice is not { } choice)
        {
            return null;
        }
        if (choice.Mode is null || !ToolChoice.Modes.Contains(choice.Mode))
        {
            return $"ToolChoice.Mode '{choice.Mode}' is not one of: {string.Join(", ", ToolChoice.Modes)}.";
        }
        if (names.Count == 0)
        {
            return "ToolChoice needs Tools: declare the functions in Tools (or put both tools and tool_choice in ExtraBody).";
        }
        if (choice.Mode == ToolChoice.FunctionMode)
        {
            if (string.IsNullOrWhiteSpace(choice.FunctionName))
            {
                return "ToolChoice.FunctionName must not be blank when the mode is 'function'.";
            }
            if (!names.Contains(choice.FunctionName))
            {
                return $"ToolChoice.FunctionName '{choice.FunctionName}' is not one of the declared Tools.";
            }
        }
        return null;
    }

    private static string? JsonError(string json) => JsonError(json, out _);

    private static string? JsonError(string json, out JsonValueKind kind)
    {
        kind = JsonValueKind.Undefined;
        try
        {
            using var document = JsonDocument.Parse(json);
            kind = document.RootElement.ValueKind;
            return null;
        }
        catch (JsonException e)
        {
            return e.Message;
        }
    }
}
