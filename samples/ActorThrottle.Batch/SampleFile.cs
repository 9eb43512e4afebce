using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ActorThrottle.Batch;

/// <summary>Writes example input files (<c>generate</c> command; tests and demos).</summary>
public static class SampleFile
{
    public const string Usage = "generate --out FILE --count N [--models a,b,c] [--max-tokens N]";

    /// <summary>Writes <paramref name="count"/> requests with ids <c>req-000001</c>…, round-robin over <paramref name="models"/>.</summary>
    public static void Write(string path, int count, IReadOnlyList<string> models, int maxTokens = 16)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        using var writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16);
        for (var i = 1; i <= count; i++)
        {
            writer.Write(Line($"req-{i:D7}", models[(i - 1) % models.Count], $"Say something about the number {i}.", maxTokens));
            writer.Write('\n');
        }
    }

    public static string Line(string customId, string model, string prompt, int maxTokens = 16) =>
        string.Create(CultureInfo.InvariantCulture,
            $$$"""{"custom_id":{{{JsonSerializer.Serialize(customId)}}},"method":"POST","url":"/v1/chat/completions","body":{"model":{{{JsonSerializer.Serialize(model)}}},"messages":[{"role":"system","content":"You are terse."},{"role":"user","content":{{{JsonSerializer.Serialize(prompt)}}}}],"max_tokens":{{{maxTokens}}},"temperature":0.2}}""");

    public static int Run(IReadOnlyList<string> args)
    {
        string? output = null;
        var count = 1000;
        var maxTokens = 16;
        var models = new[] { "gpt-4o-mini", "gpt-4.1-mini", "llama-3.1-8b" };
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--out" when i + 1 < args.Count: output = args[++i]; break;
                case "--count" when i + 1 < args.Count: count = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--max-tokens" when i + 1 < args.Count: maxTokens = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--models" when i + 1 < args.Count: models = args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries); break;
                default:
                    Console.Error.WriteLine($"usage: {Usage}");
                    return 2;
            }
        }
        if (output is null)
        {
            Console.Error.WriteLine($"usage: {Usage}");
            return 2;
        }
        Write(output, count, models, maxTokens);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Wrote {count:N0} requests over {models.Length} model(s) to {output} ({new FileInfo(output).Length:N0} bytes)."));
        return 0;
    }
}
