using System.Collections.Concurrent;
using System.Text;

namespace ActorThrottle.Simulator;

/// <summary>Deterministic reply text, about one o200k token per word; cached so replies allocate nothing new.</summary>
internal static class CompletionText
{
    private const int MaxCached = 4096;
    private static readonly string[] Words = [" Simulated", " reply", " from", " the", " Actor", "Throttle", " provider", "."];
    private static readonly ConcurrentDictionary<int, string> Cache = new();

    public static string For(int tokens)
    {
        if (tokens <= 0)
        {
            return string.Empty;
        }

        return tokens <= MaxCached ? Cache.GetOrAdd(tokens, Build) : Build(tokens);
    }

    /// <summary>Tokens per streamed content chunk: the configured size, lowered so that two tokens or more make at least two chunks.</summary>
    public static int TokensPerChunk(int tokens, int configured) =>
        tokens >= 2 ? Math.Clamp(configured, 1, (tokens + 1) / 2) : Math.Max(1, configured);

    /// <summary>How many content chunks <see cref="Chunks"/> yields.</summary>
    public static int ChunkCount(int tokens, int configured)
    {
        if (tokens <= 0)
        {
            return 0;
        }

        var perChunk = TokensPerChunk(tokens, configured);
        return (tokens + perChunk - 1) / perChunk;
    }

    /// <summary>The text of <see cref="For"/> cut at token boundaries, so the pieces concatenate to exactly that text.</summary>
    public static IEnumerable<string> Chunks(int tokens, int configured)
    {
        var text = For(tokens);
        var perChunk = TokensPerChunk(tokens, configured);
        var start = 0;
        var end = 0;
        for (var i = 0; i < tokens; i++)
        {
            // The first word loses its leading space, as in Build.
            end += Words[i % Words.Length].Length - (i == 0 ? 1 : 0);
            if ((i + 1) % perChunk == 0 || i == tokens - 1)
            {
                yield return text[start..end];
                start = end;
            }
        }
    }

    private static string Build(int tokens)
    {
        var sb = new StringBuilder(tokens * 6);
        for (var i = 0; i < tokens; i++)
        {
            sb.Append(Words[i % Words.Length]);
        }

        return sb.ToString(1, sb.Length - 1);
    }
}
