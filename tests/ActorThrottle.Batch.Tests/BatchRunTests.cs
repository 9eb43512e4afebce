using Xunit;
using Xunit.Abstractions;

namespace ActorThrottle.Batch.Tests;

/// <summary>Runs against the in-process simulator at high limits (1,000/s per model, 2 ms latency) so a busy machine does not turn into 429s.</summary>
[Collection(LoadCollection.Name)]
public sealed class BatchRunTests(ITestOutputHelper output)
{
    private static readonly string[] Models = ["model-a", "model-b", "model-c"];

    private static BatchOptions Options(TempDir dir, string? config = null, bool retryFailed = false) => new()
    {
        InputPath = dir.File("in.jsonl"),
        OutputPath = dir.File("out.jsonl"),
        ConfigPath = config,
        Simulate = true,
        SimulatorRate = 1000,
        SimulatorLatency = TimeSpan.FromMilliseconds(2),
        MaxOutstanding = 300,
        RetryFailed = retryFailed,
        Progress = ProgressMode.None,
    };

    private async Task<BatchResult> RunAsync(BatchOptions options, Func<BatchCounters, bool>? cancelWhen = null)
    {
        await using var host = await BatchHost.StartAsync(options);
        var runner = new BatchRunner(host.Engine, options);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        using var watch = new CancellationTokenSource();
        var watcher = cancelWhen is null ? Task.CompletedTask : Task.Run(async () =>
        {
            while (!watch.IsCancellationRequested && !cancelWhen(runner.Counters))
            {
                await Task.Delay(2);
            }
            await cancel.CancelAsync();
        });
        var result = await runner.RunAsync(cancel.Token);
        await watch.CancelAsync();
        await watcher;
        output.WriteLine(Summary.Describe(result, options, host.Simulator));
        return result;
    }

    [Fact]
    public async Task The_command_line_writes_the_per_second_csv_and_plot_that_account_for_every_success()
    {
        using var dir = new TempDir();
        SampleFile.Write(dir.File("in.jsonl"), 300, Models);

        var exit = await Program.Main(["--input", dir.File("in.jsonl"), "--output", dir.File("out.jsonl"), "--simulate", "--sim-rate", "1000",
            "--sim-latency", "2", "--progress", "none", "--csv", dir.File("seconds.csv"), "--plot", dir.File("seconds.png")]);

        Assert.Equal(0, exit);
        Output.AssertOneSuccessEach(dir.File("out.jsonl"), 300);
        var rows = File.ReadAllLines(dir.File("seconds.csv")).Skip(1).Select(l => l.Split(',')).ToList();
        Assert.Equal(Models.Order(), rows.Select(r => r[1]).Distinct().Order());
        // Every success is one accepted attempt, in some second.
        Assert.Equal(300, rows.Sum(r => long.Parse(r[3], System.Globalization.CultureInfo.InvariantCulture)));
        Assert.True(new FileInfo(dir.File("seconds.png")).Length > 1000);
    }

    [Fact]
    public async Task Cancelled_at_a_seeded_point_and_resumed_ends_with_one_success_per_id()
    {
        using var dir = new TempDir();
        SampleFile.Write(dir.File("in.jsonl"), 2000, Models);
        var cancelAfter = new Random(20261125).Next(200, 1800);
        output.WriteLine($"cancelling after {cancelAfter} results");

        var first = await RunAsync(Options(dir), c => c.Succeeded >= cancelAfter);
        Assert.True(first.Interrupted);
        Assert.Equal(130, first.ExitCode);
        var afterFirst = Output.Read(dir.File("out.jsonl"));
        Assert.InRange(afterFirst.Count, cancelAfter, 1999);
        Assert.All(afterFirst, l => Assert.Equal("succeeded", l.Status));
        Assert.Equal(afterFirst.Count, afterFirst.Select(l => l.CustomId).Distinct().Count());
        Assert.Equal(3, first.Counters.Models.Count);

        var second = await RunAsync(Options(dir));
        Assert.False(second.Interrupted);
        Assert.Equal(0, second.ExitCode);
        Assert.Equal(afterFirst.Count, second.Counters.SkippedSucceeded);
        Assert.Equal(2000 - afterFirst.Count, second.Counters.Succeeded);
        Output.AssertOneSuccessEach(dir.File("out.jsonl"), 2000);

        // A third run has nothing left to do and writes nothing.
        var length = new FileInfo(dir.File("out.jsonl")).Length;
        var third = await RunAsync(Options(dir));
        Assert.Equal(2000, third.Counters.SkippedSucceeded);
        Assert.Equal(0, third.Counters.Succeeded);
        Assert.Equal(length, new FileInfo(dir.File("out.jsonl")).Length);
    }

    [Fact]
    public async Task Bad_lines_are_reported_by_line_and_never_stop_the_run()
    {
        using var dir = new TempDir();
        var config = dir.File("batch.conf");
        File.WriteAllText(config, """
            actor-throttle {
              unknown-models = reject
              request-timeout = 2s
              defaults { requests-per-second = 1000, max-burst = 100, max-in-flight = 16 }
              models {
                "model-a" {}
                "model-b" {}
              }
            }
            """);
        File.WriteAllLines(dir.File("in.jsonl"),
        [
            SampleFile.Line("req-0000001", "model-a", "one"),                                  // 1
            "this is not json",                                                               // 2
            """{"body":{"model":"model-a","messages":[{"role":"user","content":"x"}]}}""",    // 3 no custom_id
            SampleFile.Line("req-0000002", "model-b", "two"),                                  // 4
            SampleFile.Line("req-0000001", "model-b", "dup"),                                  // 5 duplicate
            SampleFile.Line("req-0000099", "model-zzz", "unknown"),                            // 6 unknown model
            """{"custom_id":"req-0000098"}""",                                                 // 7 no body
            """{"custom_id":"req-0000097","body":{"model":"model-a"}}""",                     // 8 no messages
            "",                                                                               // 9 blank: ignored
            SampleFile.Line("req-0000003", "model-a", "three"),                                // 10
            """{"custom_id":"req-0000096","body":{"model":"model-a","messages":[{"role":"user",""", // 11 cut JSON
        ]);

        var result = await RunAsync(Options(dir, config));
        Assert.False(result.Interrupted);
        Assert.Equal(1, result.ExitCode);
        var lines = Output.Read(dir.File("out.jsonl"));
        Output.AssertOneSuccessEach(dir.File("out.jsonl"), 3);
        var invalid = lines.Where(l => l.Status == "invalid").OrderBy(l => l.Line).Select(l => (l.Line, l.Reason)).ToList();
        Assert.Equal(
        [
            (2L, "NotJson"), (3L, "MissingCustomId"), (5L, "DuplicateCustomId"), (6L, "UnknownModel"),
            (7L, "MissingBody"), (8L, "MissingMessages"), (11L, "NotJson"),
        ], invalid);
        Assert.Equal(7, result.Counters.Invalid);
        Assert.Equal(2, result.Counters.InvalidReasons["NotJson"]);
        var summary = Summary.Describe(result, Options(dir, config), null);
        Assert.Contains("DuplicateCustomId: line 5", summary);

        // Re-running reports nothing twice.
        var again = await RunAsync(Options(dir, config));
        Assert.Equal(7, again.Counters.SkippedInvalid);
        Assert.Equal(3, again.Counters.SkippedSucceeded);
        Assert.Equal(lines.Count, Output.Read(dir.File("out.jsonl")).Count);
    }

    [Fact]
    public async Task Resumes_after_a_truncated_last_line()
    {
        using var dir = new TempDir();
        SampleFile.Write(dir.File("in.jsonl"), 60, Models);
        await RunAsync(Options(dir));
        // Simulate a crash mid-write: drop the last 20 lines and cut the one before in half.
        var all = File.ReadAllLines(dir.File("out.jsonl"));
        var kept = all[..39];
        var half = all[39][..(all[39].Length / 2)];
        File.WriteAllText(dir.File("out.jsonl"), string.Join("\n", kept) + "\n" + half);

        var result = await RunAsync(Options(dir));
        Assert.Equal(39, result.Counters.SkippedSucceeded);
        Assert.Equal(21, result.Counters.Succeeded);
        Assert.True(result.Resumed.TruncatedBytes > 0);
        Output.AssertOneSuccessEach(dir.File("out.jsonl"), 60);
    }

    [Fact]
    public async Task Failures_are_kept_unless_retry_failed_and_the_last_line_is_the_result()
    {
        using var dir = new TempDir();
        SampleFile.Write(dir.File("in.jsonl"), 10, Models);
        File.WriteAllLines(dir.File("out.jsonl"),
        [
            """{"custom_id":"req-0000002","line":2,"status":"failed","error":{"reason":"RateLimitedExhausted"}}""",
            """{"custom_id":"req-0000005","line":5,"status":"failed","error":{"reason":"Transient"}}""",
        ]);
        var plain = await RunAsync(Options(dir));
        Assert.Equal(2, plain.Counters.SkippedFailed);
        Assert.Equal(8, plain.Counters.Succeeded);

        var retried = await RunAsync(Options(dir, retryFailed: true));
        Assert.Equal(8, retried.Counters.SkippedSucceeded);
        Assert.Equal(2, retried.Counters.Succeeded);
        Output.AssertOneSuccessEach(dir.File("out.jsonl"), 10);
        var lines = Output.Read(dir.File("out.jsonl"));
        Assert.Equal(12, lines.Count);
        Assert.Equal("succeeded", lines.Last(l => l.CustomId == "req-0000002").Status);
    }

    [Fact]
    public async Task Plain_progress_lines_show_counts_rate_429s_and_the_burst_window()
    {
        using var dir = new TempDir();
        SampleFile.Write(dir.File("in.jsonl"), 300, Models);
        var options = Options(dir) with { SimulatorRate = 100 };
        await using var host = await BatchHost.StartAsync(options);
        var runner = new BatchRunner(host.Engine, options);
        var text = new StringWriter();
        var progress = new BatchProgress(runner.Counters, host.Engine, TextWriter.Synchronized(text));
        using var stop = new CancellationTokenSource();
        var display = progress.RunAsync(ProgressMode.Plain, TimeSpan.FromMilliseconds(200), stop.Token);
        var result = await runner.RunAsync();
        await Task.Delay(300);
        await stop.CancelAsync();
        await display;
        output.WriteLine(text.ToString());
        var last = text.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Last();
        Assert.Contains("done 300/300 (100.0%)", last);
        Assert.Contains("429s 0", last);
        Assert.Contains("model-b: in engine 0, ok 100, failed 0 burst", last);
        Assert.Equal(300, result.Counters.Succeeded);
    }
}
