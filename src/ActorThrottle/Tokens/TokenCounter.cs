using System.Text;
using ActorThrottle.Messages;
using Microsoft.ML.Tokenizers;

namespace ActorThrottle.Tokens;

/// <summary>
/// Counts prompt tokens with the o200k tokenizer (exact for current OpenAI models, an approximation for others).
/// The simulator counts the same way, so the engine's charge matches the provider's.
/// </summary>
/// <remarks>
/// What counts: every message's content, the name and arguments of an assistant message's tool calls, and each declared
/// tool's name, description and parameters (as written in the body). Providers add a few tokens of framing per message
/// and per tool; neither side counts those.
/// </remarks>
internal static class TokenCounter
{
    private static readonly Lazy<Tokenizer> Tokenizer = new(() => TiktokenTokenizer.CreateForEncoding("o200k_base"));

    /// <summary>Tokens of the messages (content and tool calls) and the request's tools.</summary>
    public static int CountPrompt(ChatRequest request) =>
        (int)Math.Min(int.MaxValue, (long)CountPrompt(request.Messages) + Sum(Texts(request.Tools), Count));

    /// <summary>Tokens of the messages' content and tool calls.</summary>
    public static int CountPrompt(IReadOnlyList<ChatMessage> messages) => Sum(Texts(messages), Count);

    /// <summary>
    /// An upper bound without tokenizing: a token is at least one UTF-8 byte, so the byte count bounds the token count.
    /// </summary>
    public static int UpperBound(ChatRequest request) =>
        (int)Math.Min(int.MaxValue, (long)UpperBound(request.Messages) + Sum(Texts(request.Tools), Encoding.UTF8.GetByteCount));

    /// <inheritdoc cref="UpperBound(ChatRequest)"/>
    public static int UpperBound(IReadOnlyList<ChatMessage> messages) => Sum(Texts(messages), Encoding.UTF8.GetByteCount);

    private static int Count(string text) => Tokenizer.Value.CountTokens(text);

    private static int Sum(IEnumerable<string?> texts, Func<string, int> measure)
    {
        long total = 0;
        foreach (var text in texts)
        {
            if (!string.IsNullOrEmpty(text))
            {
                total += measure(text);
            }
        }
        return (int)Math.Min(int.MaxValue, total);
    }

    private static IEnumerable<string?> Texts(IReadOnlyList<ChatMessage> messages)
    {
        foreach (var message in messages)
        {
            yield return message.Content;
            if (message.ToolCalls is { } calls)
            {
                foreach (var call in calls)
                {
                    yield return call?.Name;
                    yield return call?.Arguments;
                }
            }
        }
    }

    private static IEnumerable<string?> Texts(IReadOnlyList<ToolDefinition>? tools)
    {
        foreach (var tool in tools ?? [])
        {
            yield return tool?.Name;
            yield return tool?.Description;
            yield return tool?.Parameters;
        }
    }
}
