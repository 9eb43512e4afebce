using System.Diagnostics;
using Xunit;

namespace ActorThrottle.Demo.Tests;

/// <summary>Launches the built demo as a child process, as a user would (slow: the default run takes ~20 s).</summary>
[Collection(LoopbackCollection.Name)]
[Trait("Category", "Long")]
public sealed class ChildProcessTests
{
    private static async Task<(int Exit, string Out, string Err)> RunDemoAsync(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "ActorThrottle.Demo.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(dll);
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task Default_run_exits_zero_within_a_minute_and_prints_the_table()
    {
        var watch = Stopwatch.StartNew();
        var (exit, stdout, stderr) = await RunDemoAsync();
        Assert.True(exit == 0, $"exit {exit}: {stderr}");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), $"took {watch.Elapsed}");
        Assert.Contains("400/400 answered", stdout);
        Assert.Contains("goodput / limit", stdout);
    }

    [Fact]
    public async Task Bad_argument_exits_non_zero_with_a_message()
    {
        var (exit, _, stderr) = await RunDemoAsync("--requests", "abc");
        Assert.Equal(2, exit);
        Assert.Contains("--requests must be a whole number", stderr);
    }
}
