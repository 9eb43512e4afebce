using System.Net.Sockets;
using ActorThrottle.Configuration;
using ActorThrottle.Diagnostics;
using ActorThrottle.Messages;
using ActorThrottle.Simulator;
using ActorThrottle.Timeline;
using Akka.Actor;
using Akka.Configuration;
using Serilog;
using Serilog.Events;
using Spectre.Console;
using SimModelSettings = ActorThrottle.Simulator.ModelSettings;

namespace ActorThrottle.Demo;

/// <summary>
/// One run of the demo: configuration, the simulator (unless an endpoint is configured), the engine, the requests
/// (with <c>Ask</c>), live progress and the end report. Writes the report to <paramref name="console"/> and
/// problems to <paramref name="error"/>; returns an exit code.
/// </summary>
internal sealed class DemoRunner(IAnsiConsole console, TextWriter error, bool live)
{
    /// <summary>How long one request may go without a reply before the run counts it unanswered.</summary>
    public TimeSpan AskTimeout { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>How long the TCP probe of a real endpoint may take.</summary>
    public TimeSpan ProbeTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Reads environment variables (keys, substitutions); default <see cref="System.Environment.GetEnvironmentVariable(string)"/>. Tests inject one.</summary>
    public Func<string, string?>? Environment { get; init; }

    /// <summary>The report of the last run that got as far as sending.</summary>
    public RunReport? Report { get; private set; }

    public async Task<int> RunAsync(DemoOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        DemoConfiguration configuration;
        try
        {
            configuration = DemoConfiguration.Load(options, environment: Environment);
        }
        catch (Exception e) when (e is DemoConfigurationException or ActorThrottleConfigurationException)
        {
            await error.WriteLineAsync($"error: {e.Message}");
            return ExitCodes.BadConfiguration;
        }

        SimulatedProvider? simulator = null;
        try
        {
            if (configuration.UseSimulator)
            {
                simulator = await SimulatedProvider.StartNewAsync(SimulatorOptionsFor(configuration), cancellationToken);
            }
            ActorThrottleSettings settings;
            try
            {
                settings = configuration.BuildSettings(simulator?.ApiBaseUrl);
            }
            catch (ActorThrottleConfigurationException e)
            {
                await error.WriteLineAsync($"error: {e.Message}");
                return ExitCodes.BadConfiguration;
            }
            foreach (var unknown in settings.UnknownKeys)
            {
                await error.WriteLineAsync($"warning: unknown configuration key '{unknown}' is ignored.");
            }
            var routes = new Dictionary<string, ModelRoute>(StringComparer.Ordinal);
            foreach (var model in configuration.Models)
            {
                if (settings.ForModel(model) is not { } modelSettings)
                {
                    await error.WriteLineAsync($"error: model '{model}' has no block under actor-throttle.models and actor-throttle.unknown-models = reject.");
                    return ExitCodes.BadArguments;
                }
                routes[model] = modelSettings.Route;
            }
            // Keys are bound to hosts (DESIGN.md "Credentials"): a model without one for its endpoint stops the demo before
            // anything is sent, as it would stop the engine.
            if (settings.StartupFindings.FirstOrDefault(f => f.IsError) is { } missing)
            {
                await error.WriteLineAsync($"error: {missing.ToException().Message}");
                return ExitCodes.BadConfiguration;
            }
            if (routes.FirstOrDefault(r => r.Value.ApiKey is null && !r.Value.AllowUnauthenticated) is { Key: not null } keyless)
            {
                await error.WriteLineAsync($"error: no API key for model '{keyless.Key}' ({keyless.Value.Display}): set actor-throttle.api-key or api-key-env " +
                    "(or the model's own), COMETAPI_KEY for https://api.cometapi.com, OPENAI_API_KEY for https://api.openai.com, " +
                    "or allow-unauthenticated = on for a local server without keys.");
                return ExitCodes.BadConfiguration;
            }
            foreach (var warning in settings.StartupFindings.Where(f => !f.IsError))
            {
                await error.WriteLineAsync($"warning: {warning.Path}: {warning.Message}");
            }
            if (!configuration.UseSimulator && await ProbeAsync(routes, cancellationToken) is { } unreachable)
            {
                await error.WriteLineAsync($"error: {unreachable}");
                return ExitCodes.Unreachable;
            }
            return await DriveAsync(configuration, settings, routes, simulator, options, cancellationToken);
        }
        finally
        {
            if (simulator is not null)
            {
                await simulator.DisposeAsync();
            }
        }
    }

    private async Task<int> DriveAsync(DemoConfiguration configuration, ActorThrottleSettings settings, IReadOnlyDictionary<string, ModelRoute> routes,
        SimulatedProvider? simulator, DemoOptions options, CancellationToken cancellationToken)
    {
        var previousLogger = Log.Logger;
        using var logger = CreateLogger(options);
        Log.Logger = logger;
        var system = ActorSystem.Create("actor-throttle-demo", AkkaConfig(options));
        using var metrics = new ActorThrottleMetrics();
        using var meter = new MeterTally(metrics.Meter);
        using var recorder = new TimelineRecorder(metrics.Meter, new RunTimeline());
        try
        {
            var engine = ActorThrottleEngine.Start(system, settings, new ThrottleEnvironment
            {
                Logger = logger,
                Metrics = metrics,
                RandomFor = model => new Random(StableSeed(model)),
            });
            var tallies = configuration.Models.ToDictionary(m => m, m => new ModelTally(m), StringComparer.Ordinal);
            var started = RunClock.Now;
            var progress = new Progress(engine, tallies, meter, configuration.Models, configuration.Requests);

            var sends = new List<Task>(configuration.Requests);
            for (var i = 0; i < configuration.Requests; i++)
            {
                var model = configuration.Models[i % configuration.Models.Count];
                var request = new ChatRequest(model, [ChatMessage.User(configuration.Prompt)])
                {
                    RequestId = $"demo-{i:D6}",
                    MaxTokens = configuration.MaxTokens,
                    Priority = LaneOf(i / configuration.Models.Count, options.Priority),
                };
                sends.Add(options.Stream
                    ? StreamAsync(engine, request, tallies[model], cancellationToken)
                    : SendAsync(engine, request, tallies[model], cancellationToken));
            }
            var all = Task.WhenAll(sends);
            if (live)
            {
                await progress.RunLiveAsync(console, all, started);
            }
            else
            {
                await progress.RunPlainAsync(console, all, configuration.PlainInterval, started);
            }
            await all;
            var finished = RunClock.Now;

            var reports = new List<ModelReport>();
            foreach (var model in configuration.Models)
            {
                var status = await progress.StatusAsync(model);
                var realLimit = !configuration.UseSimulator ? (double?)null
                    : configuration.Deployments.Count > 0 && status?.Deployments is not null ? configuration.Deployments.Sum(d => d.RealLimit)
                    : configuration.Simulator[model].RealRequestsPerSecond;
                reports.Add(BuildModelReport(model, routes[model], tallies[model], meter, started, status?.Burst ?? 0, status?.Rate ?? 0, realLimit) with
                {
                    RateFoundBy = status?.RateFoundBy,
                    RateChanges = status?.RateChanges,
                    Deployments = status?.Deployments is { } deployments
                        ? DemoReport.Deployments(deployments, name => configuration.Deployments.FirstOrDefault(s => s.Name == name)?.RealLimit)
                        : null,
                });
            }
            var report = new RunReport(
                configuration.UseSimulator ? "simulator" : "endpoint",
                RunClock.Between(started, finished).TotalSeconds,
                configuration.Requests,
                reports);
            Report = report;
            console.WriteLine();
            console.Write(DemoReport.ToTable(report));
            foreach (var balanced in report.Models.Where(m => m.Deployments is { Count: > 0 }))
            {
                console.Write(DemoReport.DeploymentsTable(balanced));
            }
            console.WriteLine(DemoReport.Legend);
            if (options.Stream && tallies.Values.Select(t => t.SampleStream).FirstOrDefault(s => s is not null) is { } sample)
            {
                console.WriteLine(DemoReport.DescribeSampleStream(sample));
            }

            recorder.Sample();
            var rows = recorder.Timeline.Rows();
            var realLimits = reports.Where(r => r.RealLimit is > 0).ToDictionary(r => r.Model, r => r.RealLimit!.Value, StringComparer.Ordinal);
            var outputs = new (string? File, string What, Func<string, Task> Write)[]
            {
                (options.JsonFile, "the JSON report", f => File.WriteAllTextAsync(f, DemoReport.ToJson(report), CancellationToken.None)),
                (options.CsvFile, "the per-second CSV", f => File.WriteAllTextAsync(f, TimelineFiles.ToCsv(rows), CancellationToken.None)),
                (options.PlotFile, "the per-second plot", f =>
                {
                    TimelineFiles.SavePng(rows, f, $"ActorThrottle demo ({report.Mode}): accepted, 429s and engine rate per second", realLimits);
                    return Task.CompletedTask;
                }),
            };
            foreach (var (file, what, write) in outputs)
            {
                if (file is null)
                {
                    continue;
                }
                try
                {
                    await write(file);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
                {
                    await error.WriteLineAsync($"error: cannot write {what} to '{file}': {e.Message}");
                    return ExitCodes.Unexpected;
                }
            }

            var exit = ExitCodes.Ok;
            foreach (var model in configuration.Models.Where(m => tallies[m].AllTransient))
            {
                await error.WriteLineAsync(
                    $"error: endpoint {routes[model].Display} looks unreachable: all {tallies[model].Failed} requests for model '{model}' failed with transient errors; last: {tallies[model].LastFailureMessage}");
                exit = ExitCodes.Unreachable;
            }
            if (exit == ExitCodes.Ok && report.Answered < report.Requests)
            {
                await error.WriteLineAsync($"error: {report.Requests - report.Answered} of {report.Requests} requests got no reply within {AskTimeout.TotalSeconds:0} s.");
                exit = ExitCodes.Unanswered;
            }
            return exit;
        }
        finally
        {
            await system.Terminate();
            Log.Logger = previousLogger;
        }
    }

    private async Task SendAsync(ActorThrottleEngine engine, ChatRequest request, ModelTally tally, CancellationToken cancellationToken)
    {
        var sentAt = RunClock.Now;
        tally.RecordSent();
        try
        {
            var reply = await engine.CompleteAsync(request, cancellationToken).WaitAsync(AskTimeout, CancellationToken.None).ConfigureAwait(false);
            var now = RunClock.Now;
            tally.RecordReply(reply, RunClock.Between(sentAt, now), now, request.Priority);
        }
        catch (Exception e) when (e is TimeoutException or AskTimeoutException)
        {
            tally.RecordUnanswered(RunClock.Now);
        }
    }

    /// <summary>With <c>--priority</c>, one request in four of each model is interactive and the rest batch; without it all are interactive.</summary>
    /// <param name="index">The request's position among its model's requests.</param>
    internal static Priority LaneOf(int index, bool mixLanes) =>
        !mixLanes || index % 4 == 0 ? Priority.Interactive : Priority.Batch;

    private async Task StreamAsync(ActorThrottleEngine engine, ChatRequest request, ModelTally tally, CancellationToken cancellationToken)
    {
        var sentAt = RunClock.Now;
        tally.RecordSent();
        try
        {
            var stream = await engine.Client.StreamAsync(request, cancellationToken).ConfigureAwait(false);
            var chunks = new List<string>();
            long? firstChunkAt = null;
            using var timeout = new CancellationTokenSource(AskTimeout);
            await foreach (var chunk in stream.WithCancellation(timeout.Token).ConfigureAwait(false))
            {
                firstChunkAt ??= RunClock.Now;
                chunks.Add(chunk.Content);
            }
            var reply = await stream.Reply.WaitAsync(AskTimeout, CancellationToken.None).ConfigureAwait(false);
            var now = RunClock.Now;
            tally.RecordReply(reply, RunClock.Between(sentAt, now), now, request.Priority,
                firstChunkAt is { } first ? RunClock.Between(sentAt, first) : null, chunks);
        }
        catch (TimeoutException)
        {
            tally.RecordUnanswered(RunClock.Now);
        }
    }

    internal static ModelReport BuildModelReport(string model, ModelRoute route, ModelTally tally, MeterTally meter, long started, int burst, double rate, double? realLimit)
    {
        var (latency, endToEnd, failures, lastReply) = tally.Snapshot();
        var streaming = tally.StreamSnapshot();
        var lanes = tally.LaneSnapshot();
        var active = lastReply > 0 ? RunClock.Between(started, lastReply).TotalSeconds : 0;
        var goodput = DemoReport.Goodput(tally.Successes, active);
        var limit = realLimit is > 0 ? realLimit : null;
        return new ModelReport
        {
            Model = model,
            Endpoint = route.Display,
            Requests = tally.Sent,
            Successes = tally.Successes,
            Failures = failures.OrderBy(f => f.Key).ToDictionary(f => f.Key.ToString(), f => f.Value, StringComparer.Ordinal),
            Unanswered = tally.Unanswered,
            Attempts = meter.Attempts(model),
            RateLimited = meter.RateLimited(model),
            Retries = meter.Retries(model),
            ActiveSeconds = Math.Round(active, 3),
            Goodput = Math.Round(goodput, 3),
            RealLimit = limit,
            GoodputToLimit = DemoReport.Ratio(goodput, limit) is { } r ? Math.Round(r, 3) : null,
            Latency = DemoReport.Summarize(latency),
            EndToEnd = DemoReport.Summarize(endToEnd),
            FinalBurst = burst,
            FinalRate = Math.Round(rate, 3),
            FirstChunk = streaming.FirstChunkMs.Count > 0 ? DemoReport.Summarize(streaming.FirstChunkMs) : null,
            ChunksPerAnswer = streaming.Answers > 0 ? Math.Round((double)streaming.Chunks / streaming.Answers, 2) : null,
            EndToEndByLane = lanes.Count > 1
                ? lanes.OrderBy(l => l.Key).ToDictionary(l => l.Key.ToString().ToLowerInvariant(), l => DemoReport.Summarize(l.Value), StringComparer.Ordinal)
                : null,
        };
    }

    private async Task<string?> ProbeAsync(IReadOnlyDictionary<string, ModelRoute> routes, CancellationToken cancellationToken)
    {
        foreach (var group in routes.GroupBy(r => r.Value.Endpoint))
        {
            var endpoint = group.Key;
            var display = group.First().Value.Display;
            var models = string.Join(", ", group.Select(g => g.Key));
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(ProbeTimeout);
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(endpoint.Host, endpoint.Port, timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return $"endpoint {display} (models: {models}) is unreachable: no TCP connection within {ProbeTimeout.TotalSeconds:0} s.";
            }
            catch (SocketException e)
            {
                return $"endpoint {display} (models: {models}) is unreachable: {e.Message}.";
            }
        }
        return null;
    }

    private static SimulatorOptions SimulatorOptionsFor(DemoConfiguration configuration)
    {
        var models = new Dictionary<string, SimModelSettings>(StringComparer.Ordinal);
        foreach (var (model, sim) in configuration.Simulator)
        {
            models[model] = new SimModelSettings
            {
                RequestsPerSecond = sim.RequestsPerSecond,
                RequestsPerSecondBurst = sim.RequestsPerSecond > 0 ? sim.Burst : null,
                Latency = sim.Latency,
                LatencyJitter = sim.LatencyJitter,
                HeaderMode = sim.HeaderMode,
                StreamChunkInterval = sim.StreamChunkInterval,
                Limits = sim.Limits,
                Schedule = sim.Schedule,
                Seed = StableSeed(model),
            };
        }
        return new SimulatorOptions { Models = models };
    }

    private static Serilog.Core.Logger CreateLogger(DemoOptions options)
    {
        var configuration = new LoggerConfiguration()
            .MinimumLevel.Is(options.LogFile is not null || options.Verbose ? LogEventLevel.Information : LogEventLevel.Warning)
            .Enrich.FromLogContext();
        if (options.LogFile is { } file)
        {
            configuration = configuration.WriteTo.File(file, outputTemplate: "{Timestamp:HH:mm:ss.fff} [{Level:u3}] {Message:lj}{NewLine}{Exception}");
        }
        if (options.Verbose)
        {
            configuration = configuration.WriteTo.Console(standardErrorFromLevel: LogEventLevel.Verbose,
                outputTemplate: "{Timestamp:HH:mm:ss.fff} [{Level:u3}] {Message:lj}{NewLine}{Exception}");
        }
        return configuration.CreateLogger();
    }

    private static Config AkkaConfig(DemoOptions options)
    {
        var level = options.LogFile is not null || options.Verbose ? "INFO" : "WARNING";
        return ConfigurationFactory.ParseString($$"""
            akka {
              loglevel = {{level}}
              stdout-loglevel = OFF
              loggers = ["Akka.Logger.Serilog.SerilogLogger, Akka.Logger.Serilog"]
              logger-formatter = "Akka.Logger.Serilog.SerilogLogMessageFormatter, Akka.Logger.Serilog"
              log-dead-letters = off
              log-dead-letters-during-shutdown = off
            }
            """);
    }

    /// <summary>A seed that is the same in every run (string.GetHashCode is randomized per process).</summary>
    internal static int StableSeed(string text)
    {
        unchecked
        {
            var hash = (int)2166136261;
            foreach (var c in text)
            {
                hash = (hash ^ c) * 16777619;
            }
            return hash & 0x7fffffff;
        }
    }
}
