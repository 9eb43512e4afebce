using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace ActorThrottle.Simulator;

/// <summary>Writes OpenAI-shaped bodies and headers straight into the response pipe (no intermediate buffers).</summary>
internal static class ResponseWriter
{
    private static long _nextId;

    public static async Task WriteErrorAsync(HttpContext context, int status, string message, string? type, string? code, string? param = null)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        using (var json = new Utf8JsonWriter(response.BodyWriter))
        {
            json.WriteStartObject();
            json.WriteStartObject("error");
            json.WriteString("message", message);
            WriteStringOrNull(json, "type", type);
            WriteStringOrNull(json, "param", param);
            WriteStringOrNull(json, "code", code);
            json.WriteEndObject();
            json.WriteEndObject();
        }

        await response.BodyWriter.FlushAsync(context.RequestAborted);
    }

    /// <summary>
    /// A <c>chat.completion</c> body. With <paramref name="toolCall"/> (<see cref="ToolCallReply"/>) the message has no content
    /// and one call of that function, and the finish reason is <c>tool_calls</c>.
    /// </summary>
    public static async Task WriteCompletionAsync(HttpContext context, string model, long created, int promptTokens, int completionTokens, string finishReason, string? toolCall = null)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json";
        var id = NewCompletionId();
        using (var json = new Utf8JsonWriter(response.BodyWriter))
        {
            json.WriteStartObject();
            json.WriteString("id", id);
            json.WriteString("object", "chat.completion");
            json.WriteNumber("created", created);
            json.WriteString("model", model);
            json.WriteStartArray("choices");
            json.WriteStartObject();
            json.WriteNumber("index", 0);
            json.WriteStartObject("message");
            json.WriteString("role", "assistant");
            if (toolCall is null)
            {
                json.WriteString("content", CompletionText.For(completionTokens));
            }
            else
            {
                json.WriteNull("content");
                json.WriteStartArray("tool_calls");
                json.WriteStartObject();
                json.WriteString("id", ToolCallReply.CallId(id));
                json.WriteString("type", "function");
                json.WriteStartObject("function");
                json.WriteString("name", toolCall);
                json.WriteString("arguments", ToolCallReply.Arguments);
                json.WriteEndObject();
                json.WriteEndObject();
                json.WriteEndArray();
            }

            json.WriteNull("refusal");
            json.WriteEndObject();
            json.WriteNull("logprobs");
            json.WriteString("finish_reason", toolCall is null ? finishReason : "tool_calls");
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteStartObject("usage");
            json.WriteNumber("prompt_tokens", promptTokens);
            json.WriteNumber("completion_tokens", completionTokens);
            json.WriteNumber("total_tokens", promptTokens + completionTokens);
            json.WriteEndObject();
            json.WriteString("system_fingerprint", "fp_simulator");
            json.WriteEndObject();
        }

        await response.BodyWriter.FlushAsync(context.RequestAborted);
    }

    /// <summary>A fresh <c>chatcmpl-sim…</c> id, unique within the process.</summary>
    public static string NewCompletionId() =>
        "chatcmpl-sim" + Interlocked.Increment(ref _nextId).ToString("x12", CultureInfo.InvariantCulture);

    /// <summary>Sets the rate-limit headers of <paramref name="mode"/>; <paramref name="retryAfter"/> is non-null only on a 429.</summary>
    public static void WriteRateLimitHeaders(HttpResponse response, RateLimitHeaderMode mode, IReadOnlyList<LimitFacts> facts, TimeSpan? retryAfter, DateTimeOffset now)
    {
        foreach (var (name, value) in RateLimitHeaderWriter.For(mode, facts, retryAfter, now))
        {
            response.Headers[name] = value;
        }
    }

    /// <summary>Anthropic's 529 body: <c>{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}</c>.</summary>
    public static async Task WriteOverloadedAsync(HttpContext context)
    {
        var response = context.Response;
        response.StatusCode = 529;
        response.ContentType = "application/json";
        using (var json = new Utf8JsonWriter(response.BodyWriter))
        {
            json.WriteStartObject();
            json.WriteString("type", "error");
            json.WriteStartObject("error");
            json.WriteString("type", "overloaded_error");
            json.WriteString("message", "Overloaded");
            json.WriteEndObject();
            json.WriteEndObject();
        }

        await response.BodyWriter.FlushAsync(context.RequestAborted);
    }

    private static void WriteStringOrNull(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }
}
