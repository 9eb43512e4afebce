using System.Diagnostics;
using ActorThrottle.Simulator;
using Xunit;
using Xunit.Abstractions;

namespace ActorThrottle.Tests.Adaptation;

/// <summary>
/// The benchmark's provider-zoo matrix on virtual time (<see cref="VirtualMatrix"/>): the printing run for iterating on
/// rate control, and guards on cells where the engine meets issue 13's targets today.
/// </summary>
public sealed class VirtualMatrixSpec(ITestOutputHelper output)
{
    /// <summary>
    /// Prints the whole quick matrix (or the shapes in <c>VIRTUAL_MATRIX_SHAPES=a,b</c>) as markdown, beside the real run's
    /// figures when <c>VIRTUAL_MATRIX_REAL</c> names a benchmark <c>results.md</c>; also to the file <c>VIRTUAL_MATRIX_OUT</c>.
    /// <c>VIRTUAL_MATRIX_DETAIL=1</c> adds each cell's story by second (rate, burst, in-flight limit, accepted, 429s, changes).
    /// </summary>
    [Fact]
    [Trait("Category", "Long")]
    public void Prints_the_virtual_matrix()
    {
        var shapes = (Environment.GetEnvironmentVariable("VIRTUAL_MATRIX_SHAPES") ?? "")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
        var unknown = shapes.Where(s => ProviderZoo.Shapes.All(z => z.Key != s)).ToList();
        Assert.True(unknown.Count == 0, $"VIRTUAL_MATRIX_SHAPES names unknown shapes: {string.Join(", ", unknown)}; known: {string.Join(", ", ProviderZoo.Shapes.Select(z => z.Key))}");
        var clock = Stopwatch.StartNew();
        var results = VirtualMatrix.RunAll(shapes);
        var real = Environment.GetEnvironmentVariable("VIRTUAL_MATRIX_REAL") is { Length: > 0 } path
            ? RealMatrixFigures.Read(path, path)
            : null;
        var md = VirtualMatrix.Markdown(results, real);
        output.WriteLine($"{results.Count} cells in {clock.Elapsed.TotalSeconds:0.0} s");
        output.WriteLine(md);
        if (Environment.GetEnvironmentVariable("VIRTUAL_MATRIX_DETAIL") is { Length: > 0 })
        {
            // Per cell: the controller's rate, burst and in-flight limit, accepted and 429s by second, and its rate changes.
            foreach (var r in results)
            {
                output.WriteLine(r.Describe());
                output.WriteLine("");
            }
        }
        if (Environment.GetEnvironmentVariable("VIRTUAL_MATRIX_OUT") is { Length: > 0 } file)
        {
            File.WriteAllText(file, md);
        }

        Assert.NotEmpty(results);
        Assert.All(results, r => Assert.Equal(r.Requests, r.Successes + r.Failures.Values.Sum() + r.Unfinished));
    }
}
