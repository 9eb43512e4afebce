using System.Text.Json;
using Xunit;

namespace ActorThrottle.Batch.Tests;

/// <summary>Tests that drive load over loopback run one at a time (DESIGN.md: one non-parallel collection).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LoadCollection
{
    public const string Name = "batch-load";
}

/// <summary>A temporary folder, deleted at the end.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "at-batch-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>One parsed output line.</summary>
public sealed record OutLine(string? CustomId, long Line, string Status, string? Reason);

public static class Output
{
    public static List<OutLine> Read(string path)
    {
        var list = new List<OutLine>();
        foreach (var text in File.ReadLines(path))
        {
            using var doc = JsonDocument.Parse(text);
            var r = doc.RootElement;
            var reason = r.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.Object ? e.GetProperty("reason").GetString() : null;
            list.Add(new OutLine(
                r.GetProperty("custom_id").ValueKind == JsonValueKind.String ? r.GetProperty("custom_id").GetString() : null,
                r.GetProperty("line").GetInt64(),
                r.GetProperty("status").GetString()!,
                reason));
        }
        return list;
    }

    /// <summary>Asserts every id in 1..count has exactly one success line.</summary>
    public static void AssertOneSuccessEach(string path, int count)
    {
        var successes = Read(path).Where(l => l.Status == "succeeded").GroupBy(l => l.CustomId!).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(count, successes.Count);
        Assert.All(successes, kv => Assert.Equal(1, kv.Value));
        for (var i = 1; i <= count; i++)
        {
            Assert.True(successes.ContainsKey($"req-{i:D7}"), $"req-{i:D7} has no success");
        }
    }
}
