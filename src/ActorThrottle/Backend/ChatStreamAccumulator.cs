using System.Text;
using System.Text.Json;
using ActorThrottle.Messages;

namespace ActorThrottle.Backend;

/// <summary>
/// Reads an OpenAI <c>chat.completion.chunk</c> event stream one <c>data:</c> payload at a time and builds the
/// attempt's <see cref="BackendResponse"/>: the text pieces as they come, then the whole text, the finish reason, the
/// model and the usage (sent in a last chunk when <c>stream_options.include_usage</c> is on). Tool calls arrive as
/// <c>delta.tool_calls[i]</c> pieces keyed by <c>index</c> (the id and function name in the first piece of each call, the
/// arguments in fragments): they are assembled into complete <see cref="ToolCall"/>s on the final response, whose
/// <c>RawJson</c> is then the completion they make (for callers who read the body). Tolerates what
/// OpenAI-compatible servers send: comments, empty choices, unknown fields, an <c>error</c> object mid-stream, tool calls
/// sent whole in one piece or without an <c>index</c>.
/// </summary>
internal sealed class ChatStreamAccumulator
{
    /// <summary>The payload that ends an OpenAI stream.</summary>
    public const string DoneMarker = "[DONE]";

    private readonly StringBuilder _text = new();
    private readonly string? _secret;
    private readonly List<ToolCallPieces> _toolCalls = [];
    private string? _finishReason;
    private string? _model;
    private string? _id;
    private long? _created;
    private TokenUsage? _usage;
    private BackendResponse? _error;

    /// <param name="secret">The API key, redacted from any error the stream carries.</param>
    public ChatStreamAccumulator(string? secret = null) => _secret = secret;

    /// <summary>True once <c>[DONE]</c> or an error arrived: nothing after it counts.</summary>
    public bool IsFinished { get; private set; }

    /// <summary>True once the first choice's <c>finish_reason</c> arrived: the answer is complete even if <c>[DONE]</c> never comes.</summary>
    public bool HasFinishReason => _finishReason is not null;

    /// <summary>Completion chunks read so far (events carrying choices or usage; keep-alive and empty events do not count).</summary>
    public int ChunksRead { get; private set; }

    /// <summary>Reads one event's data; returns the text it adds ("" when none).</summary>
    public string Accept(string? data)
    {
        if (IsFinished || string.IsNullOrWhiteSpace(data))
        {
            return "";
        }
        if (data.Trim() == DoneMarker)
        {
            IsFinished = true;
            return "";
        }
        try
        {
            using var document = JsonDocument.Parse(data);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return "";
            }
            // Some servers put "error": null on ordinary chunks; only an error object or message ends the stream.
            if (root.TryGetProperty("error", out var errorElement) && errorElement.ValueKind is JsonValueKind.Object or JsonValueKind.String)
            {
                var (code, message) = ChatResponseParser.ReadError(data, _secret);
                _error = new BackendResponse(ClassifyStreamError(code, ErrorType(root)))
                {
                    ErrorCode = code ?? "stream_error",
                    ErrorMessage = "The provider sent an error in the stream: " + (message ?? "(no message)"),
                };
                IsFinished = true;
                return "";
            }
            if (root.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.String)
            {
                _model = model.GetString();
            }
            if (_id is null && root.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String)
            {
                _id = id.GetString();
            }
            if (_created is null && root.TryGetProperty("created", out var created) && created.ValueKind == JsonValueKind.Number && created.TryGetInt64(out var seconds))
            {
                _created = seconds;
            }
            if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
            {
                _usage = new TokenUsage(ReadInt(usage, "prompt_tokens"), ReadInt(usage, "completion_tokens"));
            }
            var hasUsage = root.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object;
            if (!root.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array)
            {
                ChunksRead += hasUsage ? 1 : 0;
                return "";
            }
            ChunksRead++;
            var added = "";
            foreach (var choice in choices.EnumerateArray())
            {
                // Only the first choice is mapped, as for ordinary completions.
                if (choice.ValueKind != JsonValueKind.Object
                    || (choice.TryGetProperty("index", out var index) && index.ValueKind == JsonValueKind.Number && index.GetInt32() != 0))
                {
                    continue;
                }
                if (choice.TryGetProperty("delta", out var delta) && delta.ValueKind == JsonValueKind.Object)
                {
                    if (delta.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String)
                    {
                        added = content.GetString() ?? "";
                        _text.Append(added);
                    }
                    if (delta.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
                    {
                        AcceptToolCalls(calls);
                    }
                }
                if (choice.TryGetProperty("finish_reason", out var finish) && finish.ValueKind == JsonValueKind.String)
                {
                    _finishReason = finish.GetString();
                }
            }
            return added;
        }
        catch (JsonException)
        {
            // One malformed event does not spoil the stream; a stream that never finishes is reported by Complete.
            return "";
        }
    }

    /// <summary>
    /// The attempt's outcome once the stream has ended (or broken off): a success when a finish reason or <c>[DONE]</c>
    /// arrived, the error the stream carried, or a transient <c>stream_incomplete</c> failure when it just stopped.
    /// </summary>
    public BackendResponse Complete(int status, RateLimitInfo rateLimits)
    {
        if (_error is not null)
        {
            return _error with { StatusCode = status, RateLimits = rateLimits };
        }
        if (_finishReason is null && !IsFinished)
        {
            return new BackendResponse(OutcomeKind.Transient)
            {
                StatusCode = status,
                ErrorCode = "stream_incomplete",
                ErrorMessage = $"The stream ended after {_text.Length} characters without a finish reason or [DONE].",
                RateLimits = rateLimits,
            };
        }
        var content = _text.ToString();
        var toolCalls = ToolCalls();
        return new BackendResponse(OutcomeKind.Success)
        {
            StatusCode = status,
            Content = content,
            ToolCalls = toolCalls,
            FinishReason = _finishReason,
            ModelUsed = _model,
            Usage = _usage,
            RawJson = toolCalls is null ? "" : CompletionJson(content, toolCalls),
            RateLimits = rateLimits,
        };
    }

    /// <summary>One call's pieces so far.</summary>
    private sealed class ToolCallPieces(int index)
    {
        public int Index { get; } = index;
        public string? Id { get; set; }
        public string? Name { get; set; }
        public StringBuilder Arguments { get; } = new();
    }

    /// <summary>
    /// Adds one delta's <c>tool_calls</c>. A piece belongs to the call with its <c>index</c>; without one, to the call with
    /// its <c>id</c>, else to a new call when it has an id, else to the last call. The id and name are taken from the first
    /// piece that has them; argument fragments are appended in order.
    /// </summary>
    private void AcceptToolCalls(JsonElement calls)
    {
        foreach (var piece in calls.EnumerateArray())
        {
            if (piece.ValueKind != JsonValueKind.Object)
            {
                continue;
            }
            var id = piece.TryGetProperty("id", out var i) && i.ValueKind == JsonValueKind.String && i.GetString() is { Length: > 0 } s ? s : null;
            ToolCallPieces? call;
            if (piece.TryGetProperty("index", out var index) && index.ValueKind == JsonValueKind.Number && index.TryGetInt32(out var n))
            {
                call = _toolCalls.Find(c => c.Index == n);
                if (call is null)
                {
                    call = new ToolCallPieces(n);
                    _toolCalls.Add(call);
                }
            }
            else
            {
                call = id is not null ? _toolCalls.Find(c => c.Id == id) : _toolCalls.LastOrDefault();
                if (call is null)
                {
                    call = new ToolCallPieces(_toolCalls.Count == 0 ? 0 : _toolCalls.Max(c => c.Index) + 1);
                    _toolCalls.Add(call);
                }
            }
            call.Id ??= id;
            if (piece.TryGetProperty("function", out var function) && function.ValueKind == JsonValueKind.Object)
            {
                if (call.Name is null && function.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String
                    && name.GetString() is { Length: > 0 } named)
                {
                    call.Name = named;
                }
                if (function.TryGetProperty("arguments", out var arguments))
                {
                    if (arguments.ValueKind == JsonValueKind.String)
                    {
                        call.Arguments.Append(arguments.GetString());
                    }
                    else if (arguments.ValueKind is JsonValueKind.Object or JsonValueKind.Array)
                    {
                        call.Arguments.Append(arguments.GetRawText());
                    }
                }
            }
        }
    }

    /// <summary>The assembled calls in index order; calls that never got a function name are dropped. Null when none.</summary>
    private IReadOnlyList<ToolCall>? ToolCalls()
    {
        ToolCall[] calls = [.. _toolCalls
            .Where(c => c.Name is not null)
            .OrderBy(c => c.Index)
            .Select(c => new ToolCall(c.Id ?? "", c.Name!, c.Arguments.ToString()))];
        return calls.Length == 0 ? null : calls;
    }

    /// <summary>The <c>chat.completion</c> the stream amounts to, as a non-streamed call would have answered it.</summary>
    private string CompletionJson(string content, IReadOnlyList<ToolCall> toolCalls)
    {
        using var buffer = new MemoryStream(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (_id is not null)
            {
                json.WriteString("id", _id);
            }
            json.WriteString("object", "chat.completion");
            if (_created is { } created)
            {
                json.WriteNumber("created", created);
            }
            if (_model is not null)
            {
                json.WriteString("model", _model);
            }
            json.WriteStartArray("choices");
            json.WriteStartObject();
            json.WriteNumber("index", 0);
            json.WriteStartObject("message");
            json.WriteString("role", "assistant");
            json.WriteString("content", content.Length == 0 ? null : content);
            ChatRequestBody.WriteToolCalls(json, toolCalls);
            json.WriteEndObject();
            json.WriteString("finish_reason", _finishReason);
            json.WriteEndObject();
            json.WriteEndArray();
            if (_usage is { } usage)
            {
                json.WriteStartObject("usage");
                json.WriteNumber("prompt_tokens", usage.PromptTokens);
                json.WriteNumber("completion_tokens", usage.CompletionTokens);
                json.WriteNumber("total_tokens", usage.TotalTokens);
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>An error object inside a 200 stream: rate limits and server trouble are retryable, the rest is not.</summary>
    public static OutcomeKind ClassifyStreamError(string? code, string? type)
    {
        static bool Is(string? value, string expected) => string.Equals(value, expected, StringComparison.OrdinalIgnoreCase);
        if (Is(code, OutcomeClassifier.InsufficientQuota) || Is(type, OutcomeClassifier.InsufficientQuota))
        {
            return OutcomeKind.QuotaExceeded;
        }
        if (Is(code, "rate_limit_exceeded") || Is(type, "rate_limit_exceeded") || Is(type, "rate_limit_error"))
        {
            return OutcomeKind.RateLimited;
        }
        if (Is(type, "invalid_request_error") || Is(type, "authentication_error") || Is(type, "permission_error")
            || Is(code, "context_length_exceeded") || Is(code, "invalid_api_key"))
        {
            return OutcomeKind.Permanent;
        }
        // server_error, overloaded_error, and anything unknown: the provider's side, worth another try.
        return OutcomeKind.Transient;
    }

    private static string? ErrorType(JsonElement root) =>
        root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object
        && error.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String
            ? type.GetString()
            : null;

    private static int ReadInt(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var n) ? n : 0;
}
