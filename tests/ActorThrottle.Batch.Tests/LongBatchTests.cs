using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;

namespace ActorThrottle.Batch.Tests;

/// <summary>
/// Runs the built tool as a child <c>dotnet</c> process. Excluded from <c>.ci/run</c>; run with
/// <c>dotnet test tests/ActorThrottle.Batch.Tests -c Release --filter Category=Long</c>.
/// </summary>
[Trait("Category", "Long")]
[Collection(LoadCollection.Name)]
public sealed partial class LongBatchTests(ITestOutputHelper output)
{
    private static readonly string[] Models = ["model-a", "model-b", "model-c"];

    private static string ToolDll => Path.Combine(AppContext.BaseDirectory, "ActorThrottle.Batch.dll");

    private static Process Start(TempDir dir, params string[] extra)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { ToolDll, "--input", dir.File("in.jsonl"), "--output", dir.File("out.jsonl"), "--simulate", "--progress", "plain" }.Concat(extra))
        {
            info.ArgumentList.Add(a);
        }
        return Process.Start(info)!;
    }

    private static long CountLines(string path)
    {
        if (!File.Exists(path))
        {
            return 0;
        }
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var buffer = new byte[1 << 16];
        long n = 0;
        int read;
        while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            n += buffer.AsSpan(0, read).Count((byte)'\n');
        }
        return n;
    }

    [Fact]
    public async Task Killed_with_sigkill_mid_run_and_rerun_yields_one_success_per_id()
    {
        using var dir = new TempDir();
        SampleFile.Write(dir.File("in.jsonl"), 10_000, Models);
        var killAt = new Random(424242).Next(2_000, 8_000);
        output.WriteLine($"killing after {killAt} result lines");

        using (var child = Start(dir, "--sim-rate", "400", "--sim-latency", "5", "--progress-interval", "1"))
        {
            var stdout = child.StandardOutput.ReadToEndAsync();
            var deadline = Stopwatch.StartNew();
            while (CountLines(dir.File("out.jsonl")) < killAt && !child.HasExited && deadline.Elapsed < TimeSpan.FromMinutes(3))
            {
                await Task.Delay(5);
            }
            output.WriteLine($"at {deadline.Elapsed}: {CountLines(dir.File("out.jsonl"))} lines, exited {child.HasExited}");
            if (child.HasExited)
            {
                Assert.Fail("the run ended before it could be killed: " + await stdout);
            }
            // kill -9: no handler runs, nothing is flushed.
            var rc = SysKill(child.Id, 9);
            output.WriteLine($"{deadline.Elapsed}: kill({child.Id}, SIGKILL) = {rc}, errno {Marshal.GetLastPInvokeError()}, {CountLines(dir.File("out.jsonl"))} lines");
            await child.WaitForExitAsync();
            Assert.Equal(137, child.ExitCode);
            Assert.Equal(137, child.ExitCode);
            output.WriteLine(await stdout);
        }
        var written = CountLines(dir.File("out.jsonl"));
        output.WriteLine($"{written} lines on disk after the kill");
        Assert.InRange(written, killAt, 9_999);

        using (var rerun = Start(dir, "--sim-rate", "2000", "--sim-latency", "2", "--progress-interval", "2"))
        {
            var text = await rerun.StandardOutput.ReadToEndAsync();
            await rerun.WaitForExitAsync();
            output.WriteLine(text);
            Assert.Equal(0, rerun.ExitCode);
        }
        Output.AssertOneSuccessEach(dir.File("out.jsonl"), 10_000);
    }

    [Fact]
    public async Task A_million_lines_in_bounded_memory()
    {
        using var dir = new TempDir();
        const int count = 1_000_000;
        SampleFile.Write(dir.File("in.jsonl"), count, Models, maxTokens: 4);
        output.WriteLine($"input: {new FileInfo(dir.File("in.jsonl")).Length:N0} bytes");
        string text;
        using (var child = Start(dir, "--sim-rate", "5000", "--sim-latency", "1", "--progress-interval", "15"))
        {
            text = await child.StandardOutput.ReadToEndAsync();
            await child.WaitForExitAsync();
            output.WriteLine(text);
            Assert.Equal(0, child.ExitCode);
        }
        var peak = double.Parse(PeakWorkingSet().Match(text).Groups[1].Value, CultureInfo.InvariantCulture);
        output.WriteLine($"peak working set {peak} MB");
        var ledger = OutputLedger.Load(dir.File("out.jsonl"));
        Assert.Equal(count, ledger.Succeeded.Count);
        Assert.Empty(ledger.Failed);
        // Ids (two hash sets of a million short strings) and the engine: far below the 900 MB the output holds.
        Assert.InRange(peak, 1, 600);
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int signal);

    [GeneratedRegex(@"peak working set\s+([0-9.]+) MB")]
    private static partial Regex PeakWorkingSet();
}
