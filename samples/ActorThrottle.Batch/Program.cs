using ActorThrottle.Timeline;
using System.Globalization;
using ActorThrottle.Configuration;

namespace ActorThrottle.Batch;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "generate")
        {
            return SampleFile.Run(args[1..]);
        }
        var options = CommandLine.Parse(args, out var error);
        if (options is null)
        {
            if (string.IsNullOrEmpty(error))
            {
                Console.WriteLine(CommandLine.Usage);
                Console.WriteLine($"  Sample input: dotnet run --project samples/ActorThrottle.Batch -- {SampleFile.Usage}");
                return 0;
            }
            await Console.Error.WriteLineAsync($"error: {error}\n\n{CommandLine.Usage}");
            return 2;
        }
        if (!File.Exists(options.InputPath))
        {
            await Console.Error.WriteLineAsync($"error: input file '{options.InputPath}' does not exist.");
            return 2;
        }
        if (options.ConfigPath is not null && !File.Exists(options.ConfigPath))
        {
            await Console.Error.WriteLineAsync($"error: config file '{options.ConfigPath}' does not exist.");
            return 2;
        }

        using var cancel = new CancellationTokenSource();
        var presses = 0;
        Console.CancelKeyPress += (_, e) =>
        {
            if (Interlocked.Increment(ref presses) == 1)
            {
                e.Cancel = true; // first Ctrl+C: stop reading, withdraw what is queued, write what has finished
                Console.Error.WriteLine("Interrupting: finishing the results in flight (Ctrl+C again to quit at once)…");
                cancel.Cancel();
            }
        };

        BatchHost host;
        try
        {
            host = await BatchHost.StartAsync(options);
        }
        catch (ActorThrottleConfigurationException e)
        {
            await Console.Error.WriteLineAsync($"configuration error: {e.Message}");
            return 2;
        }

        await using (host)
        {
            if (host.Simulator is not null)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Simulator at {host.Simulator.ApiBaseUrl}: {options.SimulatorRate} requests/s per model, latency {options.SimulatorLatency.TotalMilliseconds} ms (+ up to half again)."));
            }
            var runner = new BatchRunner(host.Engine, options);
            using var recorder = new TimelineRecorder(host.Engine.Metrics.Meter, new RunTimeline());
            var progress = new BatchProgress(runner.Counters, host.Engine);
            using var stopProgress = new CancellationTokenSource();
            var mode = BatchProgress.Resolve(options.Progress);
            var display = progress.RunAsync(mode, options.ProgressInterval, stopProgress.Token);
            BatchResult result;
            try
            {
                result = await runner.RunAsync(cancel.Token);
            }
            catch (BatchInUseException e)
            {
                await Console.Error.WriteLineAsync($"error: {e.Message}");
                return 2;
            }
            catch (IOException e)
            {
                await Console.Error.WriteLineAsync($"error: {e.Message} Re-run to resume once it is fixed.");
                return 3;
            }
            finally
            {
                await stopProgress.CancelAsync();
                await display;
            }
            Console.WriteLine(Summary.Describe(result, options, host.Simulator));
            recorder.Sample();
            if (!await WriteTimelineAsync(options, recorder.Timeline.Rows()))
            {
                return 3;
            }
            return result.ExitCode;
        }
    }

    /// <summary>Writes --csv and --plot when asked; false (with the reason on stderr) when a file cannot be written.</summary>
    private static async Task<bool> WriteTimelineAsync(BatchOptions options, IReadOnlyList<TimelineRow> rows)
    {
        try
        {
            if (options.CsvPath is { } csv)
            {
                await File.WriteAllTextAsync(csv, TimelineFiles.ToCsv(rows));
            }
            if (options.PlotPath is { } plot)
            {
                TimelineFiles.SavePng(rows, plot, "ActorThrottle batch: accepted, 429s and engine rate per second");
            }
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            await Console.Error.WriteLineAsync($"error: cannot write the per-second figures: {e.Message}");
            return false;
        }
    }

}
