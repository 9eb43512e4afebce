using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using ActorThrottle.Configuration;
using Akka.Configuration;
using ActorThrottle.Simulator;
using SimHeaderMode = ActorThrottle.Simulator.RateLimitHeaderMode;

namespace ActorThrottle.Demo;

/// <summary>A bad value in the demo's own <c>demo { … }</c> block, or an unreadable file. The message names the path.</summary>
internal sealed class DemoConfigurationException(string message) : Exception(message);

/// <summary>One simulated deployment of <c>--deployments</c>: its name, the simulator model that plays it, its real limit (req/s).</summary>
internal sealed record SimulatedDeployment(string Name, string SimulatorModel, double RealLimit);

/// <summary>The real limits the in-process simulator gives one model.</summary>
internal sealed record SimulatedModel(double RequestsPerSecond, double Burst, TimeSpan Latency, TimeSpan LatencyJitter, SimHeaderMode HeaderMode,
    TimeSpan StreamChunkInterval = default)
{
    /// <summary>Further limits of any algorithm (<c>limits = ["fixed-window:20/1s,start=first-hit"]</c>).</summary>
    public IReadOnlyList<LimitSpec> Limits { get; init; } = [];

    /// <summary>The scripted schedule (<c>schedule = "10s=0.4,20s=1"</c>).</summary>
    public IReadOnlyList<ScheduleStep> Schedule { get; init; } = [];

    /// <summary>The tightest request rate of all its limits (req/s; concurrency caps and token limits aside); 0 = none.</summary>
    public double RealRequestsPerSecond
    {
        get
        {
            var rates = Limits.Where(l => l.Unit == LimitUnit.Requests && l.Algorithm != LimitAlgorithm.Concurrency)
                .Select(l => l.Quota / l.Window.TotalSeconds);
            if (RequestsPerSecond > 0)
            {
                rates = rates.Append(RequestsPerSecond);
            }
            return rates.DefaultIfEmpty(0).Min();
        }
    }
}

/// <summary>
/// The demo's configuration: the library's reference, under the embedded <c>demo.conf</c>, under the
/// <c>--config</c> file, under what the command line sets (<c>--endpoint</c>, or the simulator's URL).
/// </summary>
/// <remarks>
/// Simulator mode: only when no endpoint is given anywhere — no <c>--endpoint</c> and no <c>endpoint</c> key in the
/// <c>--config</c> file (<c>actor-throttle.endpoint</c>, <c>defaults.endpoint</c> or any <c>models."id".endpoint</c>).
/// A file that points even one model at a real provider turns the simulator off for the whole run, so a run never
/// mixes simulated and real answers in one report.
/// </remarks>
internal sealed class DemoConfiguration
{
    private const string Placeholder = "http://127.0.0.1:1/v1";
    private static readonly Regex LineRef = new(@"\bline (\d+), column (\d+)", RegexOptions.CultureInvariant);

    private readonly string _demoText;
    private readonly string _userText;
    private readonly string? _userFile;
    private readonly Uri? _endpoint;
    private Func<string, string?> _environment = Environment.GetEnvironmentVariable;
    // --deployments: the model run over the simulated deployments.
    private string? _deploymentsOf;

    private DemoConfiguration(string demoText, string userText, string? userFile, Uri? endpoint, bool useSimulator, IReadOnlyList<string>? userModels)
    {
        _demoText = demoText;
        _userText = userText;
        _userFile = userFile;
        _endpoint = endpoint;
        UseSimulator = useSimulator;
        UserModels = userModels;
    }

    /// <summary>True when the run starts the in-process simulator.</summary>
    public bool UseSimulator { get; }

    /// <summary>The most simulated deployments <c>--deployments</c> sets up.</summary>
    public const int MaxDeployments = 4;

    /// <summary>The real limits (requests/s) of the simulated deployments of <c>--deployments</c>, in order.</summary>
    internal static readonly IReadOnlyList<double> DeploymentRealLimits = [20, 5, 10, 10];

    /// <summary><c>--deployments N</c>: the driven model's simulated deployments (name, model the simulator serves, real limit); empty otherwise.</summary>
    public IReadOnlyList<SimulatedDeployment> Deployments { get; private set; } = [];

    /// <summary>The model ids the <c>--config</c> file configures under <c>actor-throttle.models</c>, or null.</summary>
    public IReadOnlyList<string>? UserModels { get; }

    public int Requests { get; private set; }
    public IReadOnlyList<string> Models { get; private set; } = [];
    public string Prompt { get; private set; } = "";
    public int MaxTokens { get; private set; }
    public TimeSpan PlainInterval { get; private set; }

    /// <summary>The simulator's real limits per model in <see cref="Models"/> (only read in simulator mode).</summary>
    public IReadOnlyDictionary<string, SimulatedModel> Simulator { get; private set; } = new Dictionary<string, SimulatedModel>();

    /// <summary>The embedded <c>demo.conf</c>.</summary>
    public static string DemoConfText { get; } = LoadDemoConf();

    /// <summary>
    /// Reads and validates everything. Throws <see cref="DemoConfigurationException"/> (unreadable file, bad <c>demo</c>
    /// value) or <see cref="ActorThrottleConfigurationException"/> (bad <c>actor-throttle</c> value, naming its path).
    /// </summary>
    public static DemoConfiguration Load(DemoOptions options, Func<string, string>? readFile = null, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        readFile ??= File.ReadAllText;
        var userText = "";
        if (options.ConfigFile is { } file)
        {
            try
            {
                userText = readFile(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                throw new DemoConfigurationException($"Cannot read the configuration file '{file}': {e.Message}");
            }
        }

        Config? user = null;
        try
        {
            user = userText.Length == 0 ? null : ConfigurationFactory.ParseString(ActorThrottleSettings.ExpandEnvironment(userText, environment));
        }
        catch (Exception)
        {
            // Reported with a position by the validation of the merged text below.
        }
        var useSimulator = options.Endpoint is null && !SetsEndpoint(user);
        var configuration = new DemoConfiguration(DemoConfText, userText, options.ConfigFile, options.Endpoint, useSimulator, ModelsOf(user))
        {
            _environment = environment ?? Environment.GetEnvironmentVariable,
        };
        if (options.Deployments is { } count)
        {
            if (!useSimulator)
            {
                throw new DemoConfigurationException("--deployments sets up simulated deployments; against real endpoints list them in --config " +
                    "(actor-throttle.models.\"id\".deployments = [ { endpoint = ..., api-key-env = ... }, ... ], see the README).");
            }
            var model = options.Models?[0] ?? configuration.UserModels?.FirstOrDefault() ?? "gpt-4o-mini";
            configuration.Deployments = Enumerable.Range(0, count)
                .Select(i => new SimulatedDeployment($"sim-{i}", $"{model}@sim-{i}", DeploymentRealLimits[i])).ToList();
            configuration._deploymentsOf = model;
        }
        // Validate now (with a placeholder for the simulator's URL) so a bad file fails before anything starts.
        var config = configuration.Compose(useSimulator ? new Uri(Placeholder) : null, out _);
        configuration.ReadDemoBlock(config, options);
        return configuration;
    }

    /// <summary>The engine's settings, with the simulator's URL as <c>actor-throttle.endpoint</c> in simulator mode.</summary>
    public ActorThrottleSettings BuildSettings(Uri? simulatorEndpoint)
    {
        if (UseSimulator && simulatorEndpoint is null)
        {
            throw new ArgumentNullException(nameof(simulatorEndpoint), "Simulator mode needs the simulator's URL.");
        }
        Compose(simulatorEndpoint, out var settings);
        return settings;
    }

    private Config Compose(Uri? simulatorEndpoint, out ActorThrottleSettings settings)
    {
        var overrides = "";
        if (_endpoint is not null)
        {
            overrides = $"actor-throttle.endpoint = {Quote(_endpoint.ToString())}\n";
        }
        else if (UseSimulator && simulatorEndpoint is not null)
        {
            // The simulator needs no key: never send a real one to it.
            overrides = $"actor-throttle.endpoint = {Quote(simulatorEndpoint.ToString())}\nactor-throttle.api-key = \"simulator\"\n";
        }
        if (_deploymentsOf is { } model && Deployments.Count > 0)
        {
            // One model over several simulated deployments: each is a model of the simulator (provider-model) with its own
            // limit. The first is configured at its real limit, the others are learned (auto).
            overrides += $"actor-throttle.models.{Quote(model)}.deployments = [\n" + string.Join(",\n", Deployments.Select((d, i) =>
                $"  {{ name = {Quote(d.Name)}, provider-model = {Quote(d.SimulatorModel)}, requests-per-second = " +
                (i == 0 ? d.RealLimit.ToString(CultureInfo.InvariantCulture) : "auto") + " }")) + "\n]\n";
        }
        // Expanded once here because the demo block is read with Akka's parser too; Parse then has nothing left to expand.
        var composite = ActorThrottleSettings.ExpandEnvironment(_demoText + "\n" + _userText + "\n" + overrides, _environment);
        try
        {
            settings = ActorThrottleSettings.Parse(composite, _environment);
        }
        catch (ActorThrottleConfigurationException e) when (MapLines(e.Message) != e.Message)
        {
            // Only parse errors carry a position (and never a value).
            throw new ActorThrottleConfigurationException(e.Path, null, MapLines(StripPrefix(e)));
        }
        return ConfigurationFactory.ParseString(composite);
    }

    // Positions in parse errors refer to the composite text; point them at the user's file (or demo.conf).
    private string MapLines(string message)
    {
        var demoLines = _demoText.Count(c => c == '\n') + 1;
        var userLines = _userText.Count(c => c == '\n') + 1;
        return LineRef.Replace(message, m =>
        {
            var line = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            var column = m.Groups[2].Value;
            if (line <= demoLines)
            {
                return $"line {line}, column {column} of demo.conf";
            }
            line -= demoLines;
            return line <= userLines
                ? $"line {line}, column {column} of {_userFile ?? "the --config file"}"
                : $"line {line - userLines}, column {column} of the command-line overrides";
        });
    }

    private static string StripPrefix(ActorThrottleConfigurationException e)
    {
        // The exception's message already reads "Invalid configuration at 'path' = value: problem"; keep the whole text
        // after the prefix the new exception adds again.
        var prefix = $"Invalid configuration at '{e.Path}'";
        var message = e.Message;
        if (message.StartsWith(prefix, StringComparison.Ordinal))
        {
            message = message[prefix.Length..];
            if (message.StartsWith(" = ", StringComparison.Ordinal))
            {
                // Keep "= value: problem" readable.
                return message[1..];
            }
            if (message.StartsWith(": ", StringComparison.Ordinal))
            {
                return message[2..];
            }
        }
        return message;
    }

    private void ReadDemoBlock(Config config, DemoOptions options)
    {
        var r = new DemoReader(config);
        Requests = options.Requests ?? r.PositiveInt("demo.requests", ArgumentParser.MaxRequests);
        Models = _deploymentsOf is { } balanced ? [balanced] : options.Models ?? UserModels ?? r.ModelList("demo.models");
        Prompt = options.Prompt ?? r.NonBlank("demo.prompt");
        MaxTokens = options.MaxTokens ?? r.PositiveInt("demo.max-tokens", 1_000_000);
        PlainInterval = r.Duration("demo.plain-interval", TimeSpan.FromMilliseconds(100));
        if (!UseSimulator)
        {
            return;
        }
        var simulator = new Dictionary<string, SimulatedModel>(StringComparer.Ordinal);
        var defaults = config.GetConfig("demo.simulator.default") ?? Config.Empty;
        var blocks = config.HasPath("demo.simulator.models") ? config.GetValue("demo.simulator.models") : null;
        foreach (var model in Models)
        {
            Config block = defaults;
            var path = "demo.simulator.default";
            if (blocks is not null && blocks.IsObject() && blocks.GetObject().Items.TryGetValue(model, out var own) && own.IsObject())
            {
                block = new Config(new Akka.Configuration.Hocon.HoconRoot(own)).WithFallback(defaults);
                path = $"demo.simulator.models.\"{model}\"";
            }
            simulator[model] = new DemoReader(block, path).SimulatedModel();
        }
        foreach (var deployment in Deployments)
        {
            // Shaped like the model's own simulated block (latency, headers), with the deployment's limit.
            var shape = simulator[Models[0]];
            simulator[deployment.SimulatorModel] = shape with { RequestsPerSecond = deployment.RealLimit, Burst = Math.Max(1, deployment.RealLimit / 5) };
        }
        Simulator = simulator;
    }

    private static bool SetsEndpoint(Config? user)
    {
        if (user is null)
        {
            return false;
        }
        bool Set(Config c, string path) => c.HasPath(path) && !string.IsNullOrWhiteSpace(c.GetString(path, ""));
        if (Set(user, "actor-throttle.endpoint") || Set(user, "actor-throttle.defaults.endpoint"))
        {
            return true;
        }
        var models = user.HasPath("actor-throttle.models") ? user.GetValue("actor-throttle.models") : null;
        if (models is null || !models.IsObject())
        {
            return false;
        }
        foreach (var (_, block) in models.GetObject().Items)
        {
            if (block.IsObject() && block.GetObject().Items.TryGetValue("endpoint", out var endpoint) &&
                endpoint.IsString() && !string.IsNullOrWhiteSpace(endpoint.GetString()))
            {
                return true;
            }
        }
        return false;
    }

    private static IReadOnlyList<string>? ModelsOf(Config? user)
    {
        var models = user is not null && user.HasPath("actor-throttle.models") ? user.GetValue("actor-throttle.models") : null;
        if (models is null || !models.IsObject() || models.GetObject().Items.Count == 0)
        {
            return null;
        }
        return models.GetObject().Items.Keys.ToList();
    }

    private static string Quote(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

    private static string LoadDemoConf()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("ActorThrottle.Demo.demo.conf")
            ?? throw new InvalidOperationException("The embedded demo.conf is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>Reads typed values from the <c>demo</c> block; errors name the full path.</summary>
    private sealed class DemoReader(Config config, string prefix = "")
    {
        private string Full(string key) => prefix.Length == 0 ? key : $"{prefix}.{key}";

        private string Raw(string key)
        {
            if (!config.HasPath(key))
            {
                throw new DemoConfigurationException($"Invalid configuration at '{Full(key)}': missing.");
            }
            return config.GetString(key, "") ?? "";
        }

        public int PositiveInt(string key, int max)
        {
            var raw = Raw(key);
            if (!int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1 || n > max)
            {
                throw new DemoConfigurationException($"Invalid configuration at '{Full(key)}' = {raw}: must be a whole number from 1 to {max}.");
            }
            return n;
        }

        public double NonNegativeDouble(string key, double min = 0)
        {
            var raw = Raw(key);
            if (!double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) || !double.IsFinite(d) || d < min)
            {
                throw new DemoConfigurationException($"Invalid configuration at '{Full(key)}' = {raw}: must be a number >= {min.ToString(CultureInfo.InvariantCulture)}.");
            }
            return d;
        }

        public string NonBlank(string key)
        {
            var raw = Raw(key);
            if (string.IsNullOrWhiteSpace(raw))
            {
                throw new DemoConfigurationException($"Invalid configuration at '{Full(key)}': must not be blank.");
            }
            return raw;
        }

        public TimeSpan Duration(string key, TimeSpan min)
        {
            var raw = Raw(key);
            TimeSpan value;
            try
            {
                value = config.GetTimeSpan(key, null, allowInfinite: false);
            }
            catch (Exception)
            {
                throw new DemoConfigurationException($"Invalid configuration at '{Full(key)}' = {raw}: must be a duration such as 250ms or 2s.");
            }
            if (value < min)
            {
                throw new DemoConfigurationException($"Invalid configuration at '{Full(key)}' = {raw}: must be at least {min.TotalMilliseconds:0}ms.");
            }
            return value;
        }

        public IReadOnlyList<string> ModelList(string key)
        {
            IList<string>? list = null;
            try
            {
                list = config.GetStringList(key);
            }
            catch (Exception)
            {
                // fall through
            }
            if (list is null || list.Count == 0 || list.Any(string.IsNullOrWhiteSpace) || list.Distinct(StringComparer.Ordinal).Count() != list.Count)
            {
                throw new DemoConfigurationException($"Invalid configuration at '{Full(key)}': must be a non-empty list of distinct model ids, e.g. [\"gpt-4o-mini\"].");
            }
            return list.ToList();
        }

        public SimulatedModel SimulatedModel()
        {
            var rate = NonNegativeDouble("requests-per-second");
            var burst = NonNegativeDouble("burst", 1);
            var latency = Duration("latency", TimeSpan.Zero);
            var jitter = Duration("latency-jitter", TimeSpan.Zero);
            var rawMode = Raw("header-mode");
            if (!RateLimitHeaderModeNames.TryParse(rawMode, out var mode))
            {
                throw new DemoConfigurationException($"Invalid configuration at '{Full("header-mode")}' = {rawMode}: must be one of {RateLimitHeaderModeNames.All}.");
            }
            var chunkInterval = Duration("stream-chunk-interval", TimeSpan.Zero);
            var limits = new List<LimitSpec>();
            if (config.HasPath("limits"))
            {
                IList<string> texts;
                try
                {
                    texts = config.GetStringList("limits");
                }
                catch (Exception)
                {
                    throw new DemoConfigurationException($"Invalid configuration at '{Full("limits")}': must be a list of limits such as [\"fixed-window:20/1s,start=first-hit\"].");
                }
                for (var i = 0; i < texts.Count; i++)
                {
                    try
                    {
                        limits.Add(LimitSyntax.ParseLimit(texts[i]));
                    }
                    catch (FormatException e)
                    {
                        throw new DemoConfigurationException($"Invalid configuration at '{Full("limits")}[{i}]': {e.Message}");
                    }
                }
            }
            IReadOnlyList<ScheduleStep> schedule = [];
            var rawSchedule = config.HasPath("schedule") ? config.GetString("schedule", "") ?? "" : "";
            try
            {
                schedule = LimitSyntax.ParseSchedule(rawSchedule);
            }
            catch (FormatException e)
            {
                throw new DemoConfigurationException($"Invalid configuration at '{Full("schedule")}': {e.Message}");
            }
            return new SimulatedModel(rate, burst, latency, jitter, mode, chunkInterval) { Limits = limits, Schedule = schedule };
        }
    }
}
