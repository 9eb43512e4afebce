using System.Text.Json;
using ActorThrottle.Messages;

namespace ActorThrottle.Backend;

/// <summary>Writes a <see cref="ChatRequest"/> as an OpenAI <c>/chat/completions</c> body.</summary>
internal static class ChatRequestBody
{
    // Keys the engine owns: ExtraBody cannot override them.
    private static readonly HashSet<string> Reserved = new(StringComparer.Ordinal) { "model", "messages", "stream", "stream_options" };

    /// <param name="stream">Ask for server-sent events.</param>
    /// <param name="streamUsage">With <paramref name="stream"/>: ask for usage in the last chunk (so token accounting still sees it).</param>
    public static byte[] Write(ChatRequest request, bool stream = false, bool streamUsage = true)
    {
        using var buffer = new MemoryStream(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("model", request.Model);
            json.WriteStartArray("messages");
            foreach (var message in request.Messages)
            {
                WriteMessage(json, message);
            }
            json.WriteEndArray();
            var typedTools = request.Tools is { Count: > 0 };
            if (typedTools)
            {
                WriteTools(json, request.Tools!);
            }
            if (request.ToolChoice is { } choice)
            {
                WriteToolChoice(json, choice);
            }
            if (stream)
            {
                json.WriteBoolean("stream", true);
                if (streamUsage)
                {
                    json.WriteStartObject("stream_options");
                    json.WriteBoolean("include_usage", true);
                    json.WriteEndObject();
                }
            }
            if (request.MaxTokens is { } maxTokens)
            {
                json.WriteNumber("max_tokens", maxTokens);
            }
            if (request.Temperature is { } temperature)
            {
                json.WriteNumber("temperature", temperature);
            }
            if (!string.IsNullOrWhiteSpace(request.ExtraBody))
            {
                using var extra = JsonDocument.Parse(request.ExtraBody);
                foreach (var property in extra.RootElement.EnumerateObject())
                {
                    if (Reserved.Contains(property.Name)
                        || (property.Name == "max_tokens" && request.MaxTokens is not null)
                        || (property.Name == "temperature" && request.Temperature is not null)
                        || (property.Name == "tools" && typedTools)
                        || (property.Name == "tool_choice" && request.ToolChoice is not null))
                    {
                        continue;
                    }
                    property.WriteTo(json);
                }
            }
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>
    /// <c>{"role","content"}</c>; an assistant message's calls as <c>tool_calls</c> (its content may then be null), a tool
    /// message's <c>tool_call_id</c>.
    /// </summary>
    private static void WriteMessage(Utf8JsonWriter json, ChatMessage message)
    {
        json.WriteStartObject();
        json.WriteString("role", message.Role);
        json.WriteString("content", message.Content);
        if (message.ToolCalls is { Count: > 0 } calls)
        {
            WriteToolCalls(json, calls);
        }
        if (message.Role == "tool" && message.ToolCallId is { } toolCallId)
        {
            json.WriteString("tool_call_id", toolCallId);
        }
        json.WriteEndObject();
    }

    private static void WriteTools(Utf8JsonWriter json, IReadOnlyList<ToolDefinition> tools)
    {
        json.WriteStartArray("tools");
        foreach (var tool in tools)
        {
            json.WriteStartObject();
            json.WriteString("type", "function");
            json.WriteStartObject("function");
            json.WriteString("name", tool.Name);
            if (tool.Description is { } description)
            {
                json.WriteString("description", description);
            }
            if (tool.Parameters is { } parameters)
            {
                // Verbatim, so the provider counts the same tokens the engine charged.
                json.WritePropertyName("parameters");
                json.WriteRawValue(parameters);
            }
            json.WriteEndObject();
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    /// <summary><c>"auto"</c>, <c>"none"</c>, <c>"required"</c>, or <c>{"type":"function","function":{"name"}}</c>.</summary>
    private static void WriteToolChoice(Utf8JsonWriter json, ToolChoice choice)
    {
        if (choice.Mode == ToolChoice.FunctionMode)
        {
            json.WriteStartObject("tool_choice");
            json.WriteString("type", "function");
            json.WriteStartObject("function");
            json.WriteString("name", choice.FunctionName);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        else
        {
            json.WriteString("tool_choice", choice.Mode);
        }
    }

    /// <summary>Writes <c>"tool_calls": [{"id", "type": "function", "function": {"name", "arguments"}}]</c> as OpenAI sends and expects it.</summary>
    internal static void WriteToolCalls(Utf8JsonWriter json, IEnumerable<ToolCall> calls)
    {
        json.WriteStartArray("tool_calls");
        foreach (var call in calls)
        {
            json.WriteStartObject();
            json.WriteString("id", call.Id);
            json.WriteString("type", "function");
            json.WriteStartObject("function");
            json.WriteString("name", call.Name);
            // A JSON text inside a string, as OpenAI sends it.
            json.WriteString("arguments", call.Arguments);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }
}
