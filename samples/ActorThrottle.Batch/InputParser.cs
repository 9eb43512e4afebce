using System.Buffers;
using System.Text;
using System.Text.Json;
using ActorThrottle.Messages;

namespace ActorThrottle.Batch;

/// <summary>One input line that is a well-formed request.</summary>
public sealed record BatchItem(long Line, string CustomId, ChatRequest Request);

/// <summary>One input line that cannot be sent; reported in the output with its line number.</summary>
public sealed record InvalidLine(long Line, string? CustomId, string Reason, string Message);

/// <summary>Reads one line of an OpenAI Batch API input file into a <see cref="ChatRequest"/>.</summary>
public static class InputParser
{
    /// <summary>Keys of <c>body</c> mapped onto <see cref="ChatRequest"/>; every other key goes to <see cref="ChatRequest.ExtraBody"/>.</summary>
    private static readonly HashSet<string> Mapped = new(StringComparer.Ordinal) { "model", "messages", "max_tokens", "temperature", "stream" };

    /// <summary>Parses <paramref name="text"/> (line number <paramref name="line"/>, from 1): a <see cref="BatchItem"/> or an <see cref="InvalidLine"/>.</summary>
    public static object Parse(string text, long line)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            return new InvalidLine(line, null, "NotJson", $"Line {line} is not JSON: {e.Message}");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return new InvalidLine(line, null, "NotJson", $"Line {line} is not a JSON object.");
            }
            if (!root.TryGetProperty("custom_id", out var idElement) || idElement.ValueKind != JsonValueKind.String
                || string.IsNullOrWhiteSpace(idElement.GetString()))
            {
                return new InvalidLine(line, null, "MissingCustomId", $"Line {line} has no custom_id (a non-empty string).");
            }
            var id = idElement.GetString()!;
            InvalidLine Bad(string reason, string message) => new(line, id, reason, $"Line {line} ({id}): {message}");

            if (root.TryGetProperty("method", out var method) && !(method.ValueKind == JsonValueKind.String && method.GetString() == "POST"))
            {
                return Bad("UnsupportedRequest", "method must be POST.");
            }
            if (root.TryGetProperty("url", out var url)
                && !(url.ValueKind == JsonValueKind.String && url.GetString() is "/v1/chat/completions" or "/chat/completions"))
            {
                return Bad("UnsupportedRequest", "url must be /v1/chat/completions.");
            }
            if (!root.TryGetProperty("body", out var body) || body.ValueKind != JsonValueKind.Object)
            {
                return Bad("MissingBody", "body (a JSON object) is missing.");
            }
            if (!body.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(model.GetString()))
            {
                return Bad("MissingModel", "body.model (a non-empty string) is missing.");
            }
            if (!body.TryGetProperty("messages", out var messagesElement) || messagesElement.ValueKind != JsonValueKind.Array || messagesElement.GetArrayLength() == 0)
            {
                return Bad("MissingMessages", "body.messages (a non-empty array) is missing.");
            }
            var messages = new List<ChatMessage>(messagesElement.GetArrayLength());
            var index = 0;
            foreach (var m in messagesElement.EnumerateArray())
            {
                if (m.ValueKind != JsonValueKind.Object || !m.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String)
                {
                    return Bad("InvalidRequest", $"body.messages[{index}] needs a string role.");
                }
                var content = ReadContent(m);
                if (content is null)
                {
                    return Bad("InvalidRequest", $"body.messages[{index}].content must be a string or an array of text parts (the engine carries text only).");
                }
                messages.Add(new ChatMessage(role.GetString()!, content));
                index++;
            }

            int? maxTokens = null;
            if (body.TryGetProperty("max_tokens", out var mt) && mt.ValueKind != JsonValueKind.Null)
            {
                if (mt.ValueKind != JsonValueKind.Number || !mt.TryGetInt32(out var v))
                {
                    return Bad("InvalidRequest", "body.max_tokens must be an integer.");
                }
                maxTokens = v;
            }
            double? temperature = null;
            if (body.TryGetProperty("temperature", out var t) && t.ValueKind != JsonValueKind.Null)
            {
                if (t.ValueKind != JsonValueKind.Number)
                {
                    return Bad("InvalidRequest", "body.temperature must be a number.");
                }
                temperature = t.GetDouble();
            }

            var request = new ChatRequest(model.GetString()!, messages)
            {
                RequestId = id,
                MaxTokens = maxTokens,
                Temperature = temperature,
                ExtraBody = Extra(body),
                Priority = Priority.Batch,
            };
            var problem = ChatRequestValidator.Validate(request);
            if (problem is not null)
            {
                return Bad("InvalidRequest", problem);
            }
            return new BatchItem(line, id, request);
        }
    }

    private static string? ReadContent(JsonElement message)
    {
        if (!message.TryGetProperty("content", out var content))
        {
            return null;
        }
        switch (content.ValueKind)
        {
            case JsonValueKind.String:
                return content.GetString();
            case JsonValueKind.Array:
                var text = new StringBuilder();
                foreach (var part in content.EnumerateArray())
                {
                    if (part.ValueKind != JsonValueKind.Object
                        || !part.TryGetProperty("type", out var type) || type.GetString() != "text"
                        || !part.TryGetProperty("text", out var partText) || partText.ValueKind != JsonValueKind.String)
                    {
                        return null;
                    }
                    text.Append(partText.GetString());
                }
                return text.ToString();
            default:
                return null;
        }
    }

    private static string? Extra(JsonElement body)
    {
        var any = false;
        foreach (var p in body.EnumerateObject())
        {
            if (!Mapped.Contains(p.Name))
            {
                any = true;
                break;
            }
        }
        if (!any)
        {
            return null;
        }
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            foreach (var p in body.EnumerateObject())
            {
                if (!Mapped.Contains(p.Name))
                {
                    p.WriteTo(json);
                }
            }
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
