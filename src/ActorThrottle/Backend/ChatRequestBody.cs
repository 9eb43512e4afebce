using System.Text.Json;
using ActorThrottle.Messages;

namespace ActorThrottle.Backend;

/// <summary>Writes a <see cref="ChatRequest"/> as an OpenAI <c>/chat/completions</c> body.</summary>
public static class ChatRequestBody
{
    // Keys the engine owns: ExtraBody cannot override them.
    private static readonly HashSet<string> Reserved = new(StringComparer.Ordinal) { "model", "messages", "stream", "stream_options" };

    /// <param name="stream">Ask for server-sent events, with usage in the last chunk (so token accounting still sees it).</param>
    public static byte[] Write(ChatRequest request, bool stream = false)
    {
        using var buffer = new MemoryStream(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("model", request.Model);
            json.WriteStartArray("messages");
            foreach (var message in request.Messages)
            {
                json.WriteStartObject();
                json.WriteString("role", message.Role);
                json.WriteString("content", message.Content);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            if (stream)
            {
                json.WriteBoolean("stream", true);
                json.WriteStartObject("stream_options");
                json.WriteBoolean("include_usage", true);
                json.WriteEndObject();
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
                        || (property.Name == "temperature" && request.Temperature is not null))
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
}
