using System.Text;
using System.Text.Json;

namespace ActorThrottle.Batch;

/// <summary>
/// What an existing output file already holds: the ids answered successfully, the ids whose last result is a
/// failure, and the input line numbers already reported invalid. Only ids and line numbers are kept, never the
/// responses, so memory is one string per id.
/// </summary>
public sealed class OutputLedger
{
    public HashSet<string> Succeeded { get; } = new(StringComparer.Ordinal);
    public HashSet<string> Failed { get; } = new(StringComparer.Ordinal);
    public HashSet<long> InvalidLines { get; } = [];

    /// <summary>Bytes of an unfinished last line (a crash mid-write) cut off the file before appending.</summary>
    public long TruncatedBytes { get; private set; }

    /// <summary>Complete lines that could not be read (skipped; their ids count as unanswered).</summary>
    public int UnreadableLines { get; private set; }

    /// <summary>
    /// Reads <paramref name="path"/> if it exists. An unfinished last line (no trailing newline) is cut off the
    /// file so that new results start on a line of their own.
    /// </summary>
    public static OutputLedger Load(string path)
    {
        var ledger = new OutputLedger();
        if (!File.Exists(path))
        {
            return ledger;
        }
        ledger.TruncatedBytes = TrimUnfinishedLine(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16);
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, 1 << 16);
        while (reader.ReadLine() is { } text)
        {
            if (text.Length == 0)
            {
                continue;
            }
            if (!TryRead(text, out var id, out var status, out var line))
            {
                ledger.UnreadableLines++;
                continue;
            }
            switch (status)
            {
                case "succeeded" when id is not null:
                    ledger.Succeeded.Add(id);
                    ledger.Failed.Remove(id);
                    break;
                case "failed" when id is not null:
                    if (!ledger.Succeeded.Contains(id))
                    {
                        ledger.Failed.Add(id);
                    }
                    break;
                case "invalid" when line is not null:
                    ledger.InvalidLines.Add(line.Value);
                    break;
                default:
                    ledger.UnreadableLines++;
                    break;
            }
        }
        return ledger;
    }

    /// <summary>Cuts everything after the last newline; returns how many bytes were cut.</summary>
    internal static long TrimUnfinishedLine(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        var length = stream.Length;
        if (length == 0)
        {
            return 0;
        }
        var buffer = new byte[4096];
        var end = length;
        while (end > 0)
        {
            var start = Math.Max(0, end - buffer.Length);
            var count = (int)(end - start);
            stream.Position = start;
            stream.ReadExactly(buffer, 0, count);
            var newline = Array.LastIndexOf(buffer, (byte)'\n', count - 1, count);
            if (newline >= 0)
            {
                var keep = start + newline + 1;
                if (keep < length)
                {
                    stream.SetLength(keep);
                }
                return length - keep;
            }
            end = start;
        }
        stream.SetLength(0);
        return length;
    }

    /// <summary>Reads the top-level <c>custom_id</c>, <c>status</c> and <c>line</c> of one output line, skipping the rest.</summary>
    internal static bool TryRead(string text, out string? id, out string? status, out long? line)
    {
        id = null;
        status = null;
        line = null;
        try
        {
            var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(text));
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("custom_id"u8))
                {
                    reader.Read();
                    id = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }
                else if (reader.ValueTextEquals("status"u8))
                {
                    reader.Read();
                    status = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }
                else if (reader.ValueTextEquals("line"u8))
                {
                    reader.Read();
                    line = reader.TokenType == JsonTokenType.Number ? reader.GetInt64() : null;
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
            return status is not null && reader.TokenType == JsonTokenType.EndObject;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
