using System.Text.Json;
using ActorThrottle.Messages;

namespace ActorThrottle.Backend;

/// <summary>Turns an HTTP status and body into a <see cref="BackendResponse"/>, tolerating whatever a provider sends.</summary>
internal static class ChatResponseParser
{
    /// <summary>The text that replaces a secret in error fields.</summary>
    public const string Redacted = "***";

    public static BackendResponse Parse(int status, string body, RateLimitInfo rateLimits) => Parse(status, body, rateLimits, secret: null);

    /// <summary>
    /// As <see cref="Parse(int, string, RateLimitInfo)"/>, and every occurrence of <paramref name="secret"/> (the API key the
    /// request was sent with) in the error fields is replaced by <see cref="Redacted"/>, before truncation, so a provider or
    /// gateway that echoes the Authorization header into its error body cannot leak the key into replies and logs.
    /// Success bodies are the caller's data and are passed through untouched.
    /// </summary>
    public static BackendResponse Parse(int status, string body, RateLimitInfo rateLimits, string? secret)
    {
        body ??= "";
        if (status is >= 200 and < 300)
        {
            return ParseCompletion(status, body, rateLimits);
        }
        var (code, message) = ReadError(body, secret);
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
            IReadOnlyList<ToolCall>? toolCalls = null;
            if (first.ValueKind == JsonValueKind.Object
                && first.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.Object)
            {
                if (message.TryGetProperty("content", out var contentElement) && contentElement.ValueKind == JsonValueKind.String)
                {
                    content = contentElement.GetString();
                }
                toolCalls = ReadToolCalls(message);
            }
            var finish = first.ValueKind == JsonValueKind.Object && first.TryGetProperty("finish_reason", out var f) && f.ValueKind == JsonValueKind.String
                ? f.GetString()
                : null;
            var model = root.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            return new BackendResponse(OutcomeKind.Success)
            {
                StatusCode = status,
                Content = content,
                ToolCalls = toolCalls,
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

    /// <summary>
    /// <c>message.tool_calls</c>: entries of type <c>function</c> (or with no type) that name a function. Arguments sent as a
    /// JSON value rather than the usual string (some OpenAI-compatible servers do) are kept as that value's JSON text.
    /// </summary>
    internal static IReadOnlyList<ToolCall>? ReadToolCalls(JsonElement message)
    {
        if (!message.TryGetProperty("tool_calls", out var calls) || calls.ValueKind != JsonValueKind.Array || calls.GetArrayLength() == 0)
        {
            return null;
        }
        List<ToolCall>? read = null;
        foreach (var call in calls.EnumerateArray())
        {
            if (call.ValueKind != JsonValueKind.Object
                || (call.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() != "function")
                || !call.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object
                || Text(function, "name") is not { Length: > 0 } name)
            {
                continue;
            }
            var arguments = function.TryGetProperty("arguments", out var a)
                ? a.ValueKind switch
                {
                    JsonValueKind.String => a.GetString()!,
                    JsonValueKind.Null => "",
                    _ => a.GetRawText(),
                }
                : "";
            (read ??= []).Add(new ToolCall(Text(call, "id") ?? "", name, arguments));
        }
        return read;
    }

    private static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

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
    internal static (string? Code, string? Message) ReadError(string body, string? secret = null)
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
                    var code = error.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? Redact(c.GetString(), secret) : null;
                    code ??= error.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String && t.GetString() == OutcomeClassifier.InsufficientQuota
                        ? OutcomeClassifier.InsufficientQuota
                        : null;
                    var message = error.TryGetProperty("message", out var msg) && msg.ValueKind == JsonValueKind.String ? msg.GetString() : null;
                    return (code, Clean(message, secret));
                }
                if (error.ValueKind == JsonValueKind.String)
                {
                    return (null, Clean(error.GetString(), secret));
                }
            }
            // vLLM and other OpenAI-compatible servers: {"object":"error","message":"...","code":400}; FastAPI: {"detail":"..."}.
            if (root.ValueKind == JsonValueKind.Object)
            {
                foreach (var name in (ReadOnlySpan<string>)["message", "detail"])
                {
                    if (root.TryGetProperty(name, out var text) && text.ValueKind == JsonValueKind.String)
                    {
                        return (null, Clean(text.GetString(), secret));
                    }
                }
            }
            return (null, null);
        }
        catch (JsonException)
        {
            return (null, Clean(body, secret));
        }
    }

    internal const int MaxMessageLength = 500;

    /// <summary>Shortest piece of the secret that is redacted when echoed on its own (OpenAI's own mask shows 4 characters).</summary>
    internal const int MinEchoLength = 8;

    /// <summary>
    /// Replaces every occurrence of <paramref name="secret"/> in <paramref name="text"/> with <see cref="Redacted"/>, and
    /// every run of <see cref="MinEchoLength"/> or more characters that is a piece of it: a provider that echoes a
    /// masked key (<c>sk-proj-abcdefgh****wxyz</c>) must not leak a long prefix either.
    /// </summary>
    internal static string? Redact(string? text, string? secret)
    {
        // Shorter "keys" (placeholders like "x") would turn every such letter into ***, and are no secret.
        if (text is null || string.IsNullOrEmpty(secret) || secret.Length < MinEchoLength)
        {
            return text;
        }
        text = text.Replace(secret, Redacted, StringComparison.Ordinal);
        System.Text.StringBuilder? redacted = null;
        var copied = 0;
        var i = 0;
        while (i <= text.Length - MinEchoLength)
        {
            var echo = LongestEchoAt(text, i, secret);
            if (echo >= MinEchoLength)
            {
                (redacted ??= new System.Text.StringBuilder(text.Length)).Append(text, copied, i - copied).Append(Redacted);
                i += echo;
                copied = i;
            }
            else
            {
                i++;
            }
        }
        return redacted is null ? text : redacted.Append(text, copied, text.Length - copied).ToString();
    }

    /// <summary>The length of the longest piece of <paramref name="secret"/> that <paramref name="text"/> holds at <paramref name="at"/>.</summary>
    private static int LongestEchoAt(string text, int at, string secret)
    {
        var best = 0;
        for (var j = 0; j < secret.Length; j++)
        {
            var n = 0;
            while (at + n < text.Length && j + n < secret.Length && text[at + n] == secret[j + n])
            {
                n++;
            }
            best = Math.Max(best, n);
        }
        return best;
    }

    /// <summary>
    /// Redacts, then truncates. Only the part that can survive the truncation is scanned (plus a key's length, so a key
    /// straddling the cut is still seen whole): an HTML error page of megabytes costs no more than a short message.
    /// </summary>
    private static string? Clean(string? text, string? secret)
    {
        if (text is not null && secret is not null && text.Length > MaxMessageLength + secret.Length)
        {
            text = text[..(MaxMessageLength + secret.Length)];
        }
        return Truncate(Redact(text, secret));
    }

    private static string? Truncate(string? text)
    {
        if (text is not { Length: > MaxMessageLength })
        {
            return text;
        }
        // Never cut a surrogate pair in half.
        var cut = char.IsHighSurrogate(text[MaxMessageLength - 1]) ? MaxMessageLength - 1 : MaxMessageLength;
        return text[..cut] + "…";
    }
}
