using System.Text.Json;
using ActorThrottle.Messages;

namespace ActorThrottle.Backend;

/// <summary>Turns an HTTP status and body into a <see cref="BackendResponse"/>, tolerating whatever a provider sends.</summary>
public static class ChatResponseParser
{
    public static BackendResponse Parse(int status, string body, RateLimitInfo rateLimits)
    {
        if (status is >= 200 and < 300)
        {
            return ParseCompletion(status, body, rateLimits);
        }
        var (code, message) = ReadError(body);
        var kind = OutcomeClassifier.Classify(status, code);
        return new BackendResponse(kind)
        {
            StatusCode = status,
            ErrorCode = code,
            ErrorMessage = message ?? $"HTTP {status}",
            RateLimits = rateLimits,
        };
    }

    private static BackendResponse ParseCompletion(int status, string body, RateLimitInfo rateLimits)
    {
        BackendResponse NotACompletion(string why) => new(OutcomeKind.Permanent)
        {
            StatusCode = status,
            ErrorCode = "invalid_response",
            ErrorMessage = $"The provider answered HTTP {status} with {why}.",
            RateLimits = rateLimits,
        };

        if (string.IsNullOrWhiteSpace(body))
        {
            return NotACompletion("an empty body");
        }
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return NotACompletion("JSON that is not an object");
            }
            if (!root.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0)
            {
                return NotACompletion("JSON without a non-empty 'choices' array");
            }
            var first = choices[0];
            string? content = null;
            if (first.ValueKind == JsonValueKind.Object
                && first.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.Object
                && message.TryGetProperty("content", out var contentElement) && contentElement.ValueKind == JsonValueKind.String)
            {
                content = contentElement.GetString();
            }
            var finish = first.ValueKind == JsonValueKind.Object && first.TryGetProperty("finish_reason", out var f) && f.ValueKind == JsonValueKind.String
                ? f.GetString()
                : null;
            var model = root.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            return new BackendResponse(OutcomeKind.Success)
            {
                StatusCode = status,
                Content = content,
                FinishReason = finish,
                ModelUsed = model,
                Usage = ReadUsage(root),
                RawJson = body,
                RateLimits = rateLimits,
            };
        }
        catch (JsonException)
        {
            return NotACompletion("a body that is not JSON");
        }
    }

    private static TokenUsage? ReadUsage(JsonElement root)
    {
        if (!root.TryGetProperty("usage", out var usage) || usage.ValueKind != JsonValueKind.Object)
        {
            return null;
        }
        static int Read(JsonElement e, string name) =>
            e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var n) ? n : 0;
        return new TokenUsage(Read(usage, "prompt_tokens"), Read(usage, "completion_tokens"));
    }

    /// <summary>Reads <c>{"error": {"code", "message"}}</c>; tolerates bodies that are not JSON.</summary>
    internal static (string? Code, string? Message) ReadError(string body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return (null, null);
        }
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error", out var error))
            {
                if (error.ValueKind == JsonValueKind.Object)
                {
                    var code = error.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
                    code ??= error.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String && t.GetString() == OutcomeClassifier.InsufficientQuota
                        ? OutcomeClassifier.InsufficientQuota
                        : null;
                    var message = error.TryGetProperty("message", out var msg) && msg.ValueKind == JsonValueKind.String ? msg.GetString() : null;
                    return (code, Truncate(message));
                }
                if (error.ValueKind == JsonValueKind.String)
                {
                    return (null, Truncate(error.GetString()));
                }
            }
            return (null, null);
        }
        catch (JsonException)
        {
            return (null, Truncate(body));
        }
    }

    private static string? Truncate(string? text) => text is { Length: > 500 } ? text[..500] + "…" : text;
}
