using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace ActorThrottle.Simulator;

/// <summary>
/// Writes one streamed completion as OpenAI does: server-sent events of <c>chat.completion.chunk</c> objects sharing
/// one id, then <c>data: [DONE]</c>. Every event is flushed on its own so a client sees it when it is written.
/// </summary>
internal sealed class CompletionChunkWriter : IDisposable
{
    private static readonly byte[] BreakPadding = CreateBreakPadding();
    private readonly PipeWriter _pipe;
    private readonly Utf8JsonWriter _json;
    private readonly string _id = ResponseWriter.NewCompletionId();
    private readonly string _model;
    private readonly long _created;
    private readonly bool _includeUsage;

    /// <summary>Sets the status and the event-stream headers; nothing is sent until the first event.</summary>
    public CompletionChunkWriter(HttpResponse response, string model, long created, bool includeUsage)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        _pipe = response.BodyWriter;
        _json = new Utf8JsonWriter(_pipe);
        _model = model;
        _created = created;
        _includeUsage = includeUsage;
    }

    /// <summary>The first chunk: <c>{"role":"assistant","content":""}</c>.</summary>
    public ValueTask<FlushResult> WriteRoleAsync(CancellationToken cancellationToken) =>
        WriteChunkAsync("assistant", string.Empty, null, cancellationToken);

    public ValueTask<FlushResult> WriteContentAsync(string content, CancellationToken cancellationToken) =>
        WriteChunkAsync(null, content, null, cancellationToken);

    /// <summary>The first delta of a tool call: <c>{"tool_calls":[{"index":0,"id","type":"function","function":{"name","arguments":""}}]}</c>.</summary>
    public ValueTask<FlushResult> WriteToolCallStartAsync(string name, CancellationToken cancellationToken)
    {
        BeginEvent();
        WriteHeaderFields();
        BeginToolCallDelta();
        _json.WriteString("id", ToolCallReply.CallId(_id));
        _json.WriteString("type", "function");
        _json.WriteStartObject("function");
        _json.WriteString("name", name);
        _json.WriteString("arguments", string.Empty);
        _json.WriteEndObject();
        return EndToolCallDeltaAsync(cancellationToken);
    }

    /// <summary>A later delta of the tool call: a piece of its arguments.</summary>
    public ValueTask<FlushResult> WriteToolCallArgumentsAsync(string arguments, CancellationToken cancellationToken)
    {
        BeginEvent();
        WriteHeaderFields();
        BeginToolCallDelta();
        _json.WriteStartObject("function");
        _json.WriteString("arguments", arguments);
        _json.WriteEndObject();
        return EndToolCallDeltaAsync(cancellationToken);
    }

    /// <summary>The chunk with an empty delta and the finish reason.</summary>
    public ValueTask<FlushResult> WriteFinishAsync(string finishReason, CancellationToken cancellationToken) =>
        WriteChunkAsync(null, null, finishReason, cancellationToken);

    /// <summary>The usage chunk (only when the request asked for it): no choices, the usage object.</summary>
    public ValueTask<FlushResult> WriteUsageAsync(int promptTokens, int completionTokens, CancellationToken cancellationToken)
    {
        BeginEvent();
        WriteHeaderFields();
        _json.WriteStartArray("choices");
        _json.WriteEndArray();
        _json.WriteStartObject("usage");
        _json.WriteNumber("prompt_tokens", promptTokens);
        _json.WriteNumber("completion_tokens", completionTokens);
        _json.WriteNumber("total_tokens", promptTokens + completionTokens);
        _json.WriteEndObject();
        return EndEventAsync(cancellationToken);
    }

    public ValueTask<FlushResult> WriteDoneAsync(CancellationToken cancellationToken)
    {
        _pipe.Write("data: [DONE]\n\n"u8);
        return _pipe.FlushAsync(cancellationToken);
    }

    /// <summary>
    /// Writes an SSE comment (ignored by clients) longer than the transport's send buffer, so the flush returns only
    /// once everything before it is on the socket. Aborting right after a plain flush would drop the events still in
    /// Kestrel's buffer, and a break must come after content the client has received.
    /// </summary>
    public ValueTask<FlushResult> WriteBreakPaddingAsync(CancellationToken cancellationToken)
    {
        _pipe.Write(BreakPadding);
        return _pipe.FlushAsync(cancellationToken);
    }

    public void Dispose() => _json.Dispose();

    private ValueTask<FlushResult> WriteChunkAsync(string? role, string? content, string? finishReason, CancellationToken cancellationToken)
    {
        BeginEvent();
        WriteHeaderFields();
        _json.WriteStartArray("choices");
        _json.WriteStartObject();
        _json.WriteNumber("index", 0);
        _json.WriteStartObject("delta");
        if (role is not null)
        {
            _json.WriteString("role", role);
        }

        if (content is not null)
        {
            _json.WriteString("content", content);
        }

        _json.WriteEndObject();
        _json.WriteNull("logprobs");
        if (finishReason is null)
        {
            _json.WriteNull("finish_reason");
        }
        else
        {
            _json.WriteString("finish_reason", finishReason);
        }

        _json.WriteEndObject();
        _json.WriteEndArray();
        if (_includeUsage)
        {
            // OpenAI marks every chunk but the last with an explicit null usage in this mode.
            _json.WriteNull("usage");
        }

        return EndEventAsync(cancellationToken);
    }

    private void BeginToolCallDelta()
    {
        _json.WriteStartArray("choices");
        _json.WriteStartObject();
        _json.WriteNumber("index", 0);
        _json.WriteStartObject("delta");
        _json.WriteStartArray("tool_calls");
        _json.WriteStartObject();
        _json.WriteNumber("index", 0);
    }

    private ValueTask<FlushResult> EndToolCallDeltaAsync(CancellationToken cancellationToken)
    {
        _json.WriteEndObject();
        _json.WriteEndArray();
        _json.WriteEndObject();
        _json.WriteNull("logprobs");
        _json.WriteNull("finish_reason");
        _json.WriteEndObject();
        _json.WriteEndArray();
        if (_includeUsage)
        {
            _json.WriteNull("usage");
        }

        return EndEventAsync(cancellationToken);
    }

    private static byte[] CreateBreakPadding()
    {
        var padding = new byte[SimulatedProvider.SendBufferBytes];
        padding.AsSpan().Fill((byte)' ');
        ": simulated stream break"u8.CopyTo(padding);
        return padding;
    }

    private void BeginEvent()
    {
        _pipe.Write("data: "u8);
        _json.Reset(_pipe);
        _json.WriteStartObject();
    }

    private void WriteHeaderFields()
    {
        _json.WriteString("id", _id);
        _json.WriteString("object", "chat.completion.chunk");
        _json.WriteNumber("created", _created);
        _json.WriteString("model", _model);
        _json.WriteString("system_fingerprint", "fp_simulator");
    }

    private ValueTask<FlushResult> EndEventAsync(CancellationToken cancellationToken)
    {
        _json.WriteEndObject();
        _json.Flush();
        _pipe.Write("\n\n"u8);
        return _pipe.FlushAsync(cancellationToken);
    }
}
