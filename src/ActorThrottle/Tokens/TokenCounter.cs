using System.Text;
using ActorThrottle.Messages;
using Microsoft.ML.Tokenizers;

namespace ActorThrottle.Tokens;

/// <summary>
/// Counts prompt tokens with the o200k tokenizer (exact for current OpenAI models, an approximation for others).
/// The simulator counts the same way, so the engine's charge matches the provider's.
/// </summary>
public static class TokenCounter
{
    private static readonly Lazy<Tokenizer> Tokenizer = new(() => TiktokenTokenizer.CreateForEncoding("o200k_base"));

    /// <summary>Tokens of the messages' content.</summary>
    public static int CountPrompt(IReadOnlyList<ChatMessage> messages)
    {
        var total = 0;
        foreach (var message in messages)
        {
            if (!string.IsNullOrEmpty(message.Content))
            {
                total += Tokenizer.Value.CountTokens(message.Content);
            }
        }
        return total;
    }

    /// <summary>
    /// An upper bound without tokenizing: a token is at least one UTF-8 byte, so the byte count bounds the token count.
    /// </summary>
    public static int UpperBound(IReadOnlyList<ChatMessage> messages)
    {
        long total = 0;
        foreach (var message in messages)
        {
            if (!string.IsNullOrEmpty(message.Content))
            {
                total += Encoding.UTF8.GetByteCount(message.Content);
            }
        }
        return (int)Math.Min(int.MaxValue, total);
    }
}
