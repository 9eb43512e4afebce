using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using ActorThrottle.Messages;

namespace ActorThrottle.Batch;

/// <summary>A line to append to the output: a reply to a request, or an invalid input line.</summary>
public abstract record OutputRecord(long Line, string? CustomId);

public sealed record ReplyRecord(long Line, string CustomId, string Model, ChatReply Reply, TimeSpan Elapsed) : OutputRecord(Line, CustomId);

public sealed record InvalidRecord(InvalidLine Invalid) : OutputRecord(Invalid.Line, Invalid.CustomId);

/// <summary>
/// The one writer of the output file: appends one JSON line per record as it arrives and flushes to the OS
/// whenever it has nothing more to write right now, and at least every <see cref="FlushInterval"/> under load,
/// so a crash (even <c>kill -9</c>) loses at most the requests in flight and possibly half a last line.
/// </summary>
public sealed class ResultWriter : IAsyncDisposable
{
    public static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(100);

    private readonly Channel<OutputRecord> _channel = Channel.CreateBounded<OutputRecord>(new BoundedChannelOptions(4096)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });
    private readonly FileStream _file;
    private readonly Action<OutputRecord> _written;
    private readonly Task _loop;

    /// <param name="path">The output file; created or appended to.</param>
    /// <param name="written">Called after each record is written (for counters).</param>
    public ResultWriter(string path, Action<OutputRecord> written)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }
        _file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read, 1 << 16);
        _written = written;
        _loop = Task.Run(LoopAsync);
    }

    public ValueTask WriteAsync(OutputRecord record) => _channel.Writer.WriteAsync(record);

    /// <summary>Why writing stopped (e.g. the disk is full); null while it works.</summary>
    public Exception? Failure => _loop.IsFaulted ? _loop.Exception?.GetBaseException() : null;

    private async Task LoopAsync()
    {
        try
        {
            await WriteAllAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // Writers waiting on a full channel must not hang: close it with the cause.
            _channel.Writer.TryComplete(e);
            throw;
        }
    }

    private async Task WriteAllAsync()
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        var sinceFlush = Stopwatch.StartNew();
        var reader = _channel.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var record))
            {
                buffer.ResetWrittenCount();
                using (var json = new Utf8JsonWriter(buffer))
                {
                    Write(json, record);
                }
                buffer.Write("\n"u8);
                _file.Write(buffer.WrittenSpan);
                _written(record);
                if (sinceFlush.Elapsed >= FlushInterval)
                {
                    _file.Flush();
                    sinceFlush.Restart();
                }
            }
            _file.Flush();
            sinceFlush.Restart();
        }
    }

    /// <summary>Writes one record as a JSON object (the output line's format; see README.md).</summary>
    public static void Write(Utf8JsonWriter json, OutputRecord record)
    {
        json.WriteStartObject();
        json.WriteString("custom_id", record.CustomId);
        json.WriteNumber("line", record.Line);
        switch (record)
        {
            case ReplyRecord { Reply: ChatSuccess s } r:
                json.WriteString("status", "succeeded");
                json.WriteString("model", r.Model);
                json.WriteNumber("attempts", s.Attempts);
                json.WriteNumber("latency_ms", Math.Round(s.Latency.TotalMilliseconds, 1));
                json.WriteStartObject("response");
                json.WriteString("content", s.Content);
                json.WriteString("finish_reason", s.FinishReason);
                if (s.Usage is { } usage)
                {
                    json.WriteStartObject("usage");
                    json.WriteNumber("prompt_tokens", usage.PromptTokens);
                    json.WriteNumber("completion_tokens", usage.CompletionTokens);
                    json.WriteNumber("total_tokens", usage.TotalTokens);
                    json.WriteEndObject();
                }
                else
                {
                    json.WriteNull("usage");
                }
                json.WriteString("model", s.ModelUsed);
                json.WritePropertyName("body");
                WriteRaw(json, s.RawJson);
                json.WriteEndObject();
                json.WriteNull("error");
                break;
            case ReplyRecord { Reply: ChatFailure f } r:
                json.WriteString("status", "failed");
                json.WriteString("model", r.Model);
                json.WriteNumber("attempts", f.Attempts);
                json.WriteNumber("latency_ms", Math.Round(r.Elapsed.TotalMilliseconds, 1));
                json.WriteNull("response");
                json.WriteStartObject("error");
                json.WriteString("reason", f.Reason.ToString());
                json.WriteString("message", f.Message);
                if (f.StatusCode is { } status)
                {
                    json.WriteNumber("status_code", status);
                }
                else
                {
                    json.WriteNull("status_code");
                }
                json.WriteString("code", f.ProviderCode);
                json.WriteEndObject();
                break;
            case InvalidRecord i:
                json.WriteString("status", "invalid");
                json.WriteNull("response");
                json.WriteStartObject("error");
                json.WriteString("reason", i.Invalid.Reason);
                json.WriteString("message", i.Invalid.Message);
                json.WriteEndObject();
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(record), record.GetType().Name);
        }
        json.WriteEndObject();
    }

    private static void WriteRaw(Utf8JsonWriter json, string? raw)
    {
        if (string.IsNullOrWhiteSpace(raw))
        {
            json.WriteNullValue();
            return;
        }
        try
        {
            using var document = JsonDocument.Parse(raw);
            document.RootElement.WriteTo(json);
        }
        catch (JsonException)
        {
            json.WriteStringValue(raw);
        }
    }

    /// <summary>Writes what is queued, flushes and closes the file.</summary>
    public async ValueTask DisposeAsync()
    {
        _channel.Writer.TryComplete();
        try
        {
            await _loop.ConfigureAwait(false);
        }
        finally
        {
            _file.Flush();
            await _file.DisposeAsync().ConfigureAwait(false);
        }
    }
}
