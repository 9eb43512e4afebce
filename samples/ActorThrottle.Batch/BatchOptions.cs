using System.Globalization;

namespace ActorThrottle.Batch;

/// <summary>What one batch run does; parsed from the command line by <see cref="CommandLine"/>.</summary>
public sealed record BatchOptions
{
    public required string InputPath { get; init; }
    public required string OutputPath { get; init; }

    /// <summary>HOCON file with an <c>actor-throttle { ... }</c> block (models, limits, endpoint, key).</summary>
    public string? ConfigPath { get; init; }

    /// <summary>Overrides <c>actor-throttle.endpoint</c>.</summary>
    public string? Endpoint { get; init; }

    /// <summary>Re-send ids whose last result is a failure.</summary>
    public bool RetryFailed { get; init; }

    /// <summary>Start the in-process simulator and send everything to it.</summary>
    public bool Simulate { get; init; }

    /// <summary>The simulator's per-model limit (requests per second), and the engine's rate when no config is given.</summary>
    public double SimulatorRate { get; init; } = 200;

    /// <summary>The simulator's latency per call.</summary>
    public TimeSpan SimulatorLatency { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Most requests handed to the engine and not answered yet (all models together). Capped at each model's queue-size.</summary>
    public int MaxOutstanding { get; init; } = 1000;

    /// <summary>Progress display: auto (live on a terminal, plain lines otherwise), live, plain, none.</summary>
    public ProgressMode Progress { get; init; } = ProgressMode.Auto;

    /// <summary>How often plain progress lines are written.</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Where to write a PNG of accepted calls, 429s and the engine's rate per second per model.</summary>
    public string? PlotPath { get; init; }

    /// <summary>Where to write the same per-second figures as CSV.</summary>
    public string? CsvPath { get; init; }
}

public enum ProgressMode
{
    Auto,
    Live,
    Plain,
    None,
}

/// <summary>Parses the batch tool's arguments.</summary>
public static class CommandLine
{
    public const string Usage = """
        ActorThrottle batch: run an OpenAI Batch-API style JSONL file through ActorThrottle at the provider's limit.

        Usage:
          dotnet run --project samples/ActorThrottle.Batch -- --input requests.jsonl --output results.jsonl [options]

        Options:
          --input FILE           JSONL, one request a line: {"custom_id": "...", "method": "POST",
                                 "url": "/v1/chat/completions", "body": {"model": ..., "messages": [...], ...}}
          --output FILE          JSONL results, appended. Re-running with the same file resumes: ids already
                                 answered successfully are skipped; failed ids are skipped unless --retry-failed.
          --config FILE          HOCON with an actor-throttle { ... } block (models, limits, endpoint, api-key).
          --endpoint URL         Base URL of the OpenAI-compatible API (overrides actor-throttle.endpoint).
          --retry-failed         Send again the ids whose last result is a failure (a new line is appended).
          --simulate             Start the in-process rate-limited simulator and send everything to it.
          --sim-rate N           Simulator limit per model, requests/s (default 200); also the engine's rate
                                 when no --config is given.
          --sim-latency MS       Simulator latency per call in ms (default 20).
          --max-outstanding N    Requests handed to the engine and not yet answered, all models (default 1000;
                                 capped at each model's queue-size).
          --progress MODE        auto | live | plain | none (default auto: live on a terminal, plain lines
                                 when stdout is redirected).
          --progress-interval S  Seconds between plain progress lines (default 5).
          --plot FILE            Write a PNG of accepted calls, 429s and the engine's rate per second per model.
          --csv FILE             Write the same per-second figures as CSV (second, model, attempts, accepted,
                                 rate_limited, engine_rate_per_s).
          -h, --help             This text.

        Exit codes: 0 every request succeeded, 1 done with failed or invalid lines, 2 usage or configuration
        error (or the output is in use by another run), 3 the output could not be written, 130 interrupted
        (Ctrl+C; re-run the same command to resume).
        """;

    /// <summary>The options, or null with <paramref name="error"/> set (empty error: help was asked for).</summary>
    public static BatchOptions? Parse(IReadOnlyList<string> args, out string? error)
    {
        error = null;
        string? input = null, output = null, config = null, endpoint = null, plot = null, csv = null;
        bool retry = false, simulate = false;
        double simRate = 200, simLatencyMs = 20, interval = 5;
        int maxOutstanding = 1000;
        var progress = ProgressMode.Auto;
        for (var i = 0; i < args.Count; i++)
        {
            var a = args[i];
            string Next()
            {
                if (i + 1 >= args.Count)
                {
                    throw new FormatException($"{a} needs a value.");
                }
                return args[++i];
            }
            double Number(double min)
            {
                var text = Next();
                if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || double.IsNaN(v) || v < min)
                {
                    throw new FormatException($"{a} must be a number >= {min.ToString(CultureInfo.InvariantCulture)} (was '{text}').");
                }
                return v;
            }
            try
            {
                switch (a)
                {
                    case "--input": input = Next(); break;
                    case "--output": output = Next(); break;
                    case "--config": config = Next(); break;
                    case "--endpoint": endpoint = Next(); break;
                    case "--plot": plot = Next(); break;
                    case "--csv": csv = Next(); break;
                    case "--retry-failed": retry = true; break;
                    case "--simulate": simulate = true; break;
                    case "--sim-rate": simRate = Number(0.001); break;
                    case "--sim-latency": simLatencyMs = Number(0); break;
                    case "--max-outstanding": maxOutstanding = (int)Number(1); break;
                    case "--progress-interval": interval = Number(0.1); break;
                    case "--progress":
                        var m = Next();
                        if (!Enum.TryParse(m, ignoreCase: true, out progress))
                        {
                            throw new FormatException($"--progress must be auto, live, plain or none (was '{m}').");
                        }
                        break;
                    case "-h" or "--help" or "-?":
                        error = "";
                        return null;
                    default:
                        throw new FormatException($"Unknown argument '{a}'.");
                }
            }
            catch (FormatException e)
            {
                error = e.Message;
                return null;
            }
        }
        if (input is null || output is null)
        {
            error = "--input and --output are required.";
            return null;
        }
        if (endpoint is not null && !Uri.TryCreate(endpoint, UriKind.Absolute, out _))
        {
            error = $"--endpoint must be an absolute URL (was '{endpoint}').";
            return null;
        }
        return new BatchOptions
        {
            InputPath = input,
            OutputPath = output,
            ConfigPath = config,
            Endpoint = endpoint,
            RetryFailed = retry,
            Simulate = simulate,
            SimulatorRate = simRate,
            SimulatorLatency = TimeSpan.FromMilliseconds(simLatencyMs),
            MaxOutstanding = maxOutstanding,
            Progress = progress,
            ProgressInterval = TimeSpan.FromSeconds(interval),
            PlotPath = plot,
            CsvPath = csv,
        };
    }
}
