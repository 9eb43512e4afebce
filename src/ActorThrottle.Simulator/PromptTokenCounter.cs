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

    /// <summary>Sum of the tokens of every message's content (a string, or an array of parts whose <c>text</c> counts).</summary>
    public static int CountMessages(JsonElement messages)
    {
        var total = 0;
        foreach (var message in messages.EnumerateArray())
        {
            if (message.ValueKind != JsonValueKind.Object || !message.TryGetProperty("content", out var content))
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
}
