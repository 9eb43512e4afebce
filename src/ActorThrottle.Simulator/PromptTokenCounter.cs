using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace ActorThrottle.Simulator;

/// <summary>Counts prompt tokens with o200k_base, the same tokenizer the engine uses for its estimates.</summary>
internal static class PromptTokenCounter
{
    // Loading the vocabulary takes a while; one shared, thread-safe instance serves every request.
    private static readonly Lazy<Tokenizer> Tokenizer = new(() => TiktokenTokenizer.CreateForEncoding("o200k_base"));

    /// <summary>Loads the vocabulary now, so the first request is not the one that waits for it.</summary>
    public static void Warm() => _ = Tokenizer.Value;

    public static int Count(string text) => text.Length == 0 ? 0 : Tokenizer.Value.CountTokens(text);

    /// <summary>
    /// Sum of the tokens of every message's content (a string, or an array of parts whose <c>text</c> counts) and of the
    /// function name and arguments of an assistant message's <c>tool_calls</c>.
    /// </summary>
    public static int CountMessages(JsonElement messages)
    {
        var total = 0;
        foreach (var message in messages.EnumerateArray())
        {
            if (message.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            if (message.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
            {
                foreach (var call in calls.EnumerateArray())
                {
                    if (call.ValueKind == JsonValueKind.Object && call.TryGetProperty("function", out var function) && function.ValueKind == JsonValueKind.Object)
                    {
                        total += CountString(function, "name") + CountString(function, "arguments");
                    }
                }
            }

            if (!message.TryGetProperty("content", out var content))
            {
                continue;
            }

            if (content.ValueKind == JsonValueKind.String)
            {
                total += Count(content.GetString()!);
            }
            else if (content.ValueKind == JsonValueKind.Array)
            {
                foreach (var part in content.EnumerateArray())
                {
                    if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
                    {
                        total += Count(text.GetString()!);
                    }
                }
            }
        }

        return total;
    }

    /// <summary>
    /// Tokens of the body's <c>tools</c>: each function's name, description and parameters (the schema's JSON text as sent).
    /// The engine charges the same, so both sides agree on a request's cost.
    /// </summary>
    public static int CountTools(JsonElement root)
    {
        if (!root.TryGetProperty("tools", out var tools) || tools.ValueKind != JsonValueKind.Array)
        {
            return 0;
        }

        var total = 0;
        foreach (var tool in tools.EnumerateArray())
        {
            if (tool.ValueKind != JsonValueKind.Object || !tool.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            total += CountString(function, "name") + CountString(function, "description");
            if (function.TryGetProperty("parameters", out var parameters) && parameters.ValueKind != JsonValueKind.Null)
            {
                total += Count(parameters.GetRawText());
            }
        }

        return total;
    }

    private static int CountString(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? Count(value.GetString()!) : 0;
}
