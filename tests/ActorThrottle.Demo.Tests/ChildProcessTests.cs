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

    /// <summary>
    /// A real host process stops cleanly: started on a long run, then signalled (SIGINT = Ctrl+C, SIGTERM = a service
    /// manager's stop), it answers what it holds and exits within a bounded time instead of hanging.
    /// </summary>
    [Theory]
    [InlineData("INT")]
    [InlineData("TERM")]
    public async Task A_signalled_demo_process_answers_what_it_holds_and_exits_promptly(string signal)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "ActorThrottle.Demo.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { dll, "--requests", "20000", "--plain" })
        {
            start.ArgumentList.Add(a);
        }
        using var process = Process.Start(start)!;
        var output = new System.Text.StringBuilder();
        var firstProgress = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }
            lock (output)
            {
                output.AppendLine(e.Data);
            }
            if (e.Data.Contains("done"))
            {
                firstProgress.TrySetResult();
            }
        };
        process.BeginOutputReadLine();
        var stderr = process.StandardError.ReadToEndAsync();
        await firstProgress.Task.WaitAsync(TimeSpan.FromSeconds(60));

        using (var kill = Process.Start("kill", ["-" + signal, process.Id.ToString()])!)
        {
            await kill.WaitForExitAsync();
        }
        var watch = Stopwatch.StartNew();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.HasExited, $"still running 30 s after SIG{signal}");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30));
        if (signal == "INT")
        {
            // Ctrl+C withdraws what is pending and still prints the report: every request answered.
            Assert.Contains("20000/20000 answered", output.ToString());
        }
        _ = await stderr;
    }
}
