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
