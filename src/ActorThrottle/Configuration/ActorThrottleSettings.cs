using System.Globalization;
using System.Reflection;
using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace ActorThrottle.Configuration;

/// <summary>
/// The validated <c>actor-throttle</c> configuration. Built once at startup with
/// <see cref="FromConfig"/>; every configured model is validated then, so a bad value
/// fails the start with an error naming its HOCON path.
/// </summary>
public sealed class ActorThrottleSettings
{
    /// <summary>The root HOCON path of the library's settings.</summary>
    public const string RootPath = "actor-throttle";

    private static readonly Lazy<Config> ReferenceConfig = new(LoadReference);

    /// <summary>The keys of <c>actor-throttle</c> outside <c>defaults</c> and <c>models</c> that the settings read.</summary>
    internal static readonly IReadOnlyList<string> TopLevelKeys =
        ["endpoint", "api-key", "api-key-env", "allow-unauthenticated", "request-timeout", "unknown-models", "shutdown-grace",
         "cluster.enabled", "cluster.role", "cluster.number-of-shards", "cluster.start-burst-fraction"];

    /// <summary>The keys a model block (and <c>defaults</c>) may hold; every one is read by <see cref="ReadModel"/>.</summary>
    internal static readonly IReadOnlyList<string> ModelKeys =
    [
        "requests-per-second", "tokens-per-minute", "tokens-burst", "token-accounting", "default-max-tokens", "max-context-tokens",
        "max-burst", "min-burst", "min-rate", "max-in-flight", "queue-size", "batch-share", "fallbacks", "provider-model", "stream-usage", "endpoint", "api-key", "api-key-env", "allow-unauthenticated", "request-timeout",
        "retry.max-attempts", "retry.base-delay", "retry.max-delay", "retry.max-retry-after", "retry.budget",
        "retry.budget-window", "retry.budget-min-per-second",
        "adapt.decrease-factor", "adapt.increase-step", "adapt.increase-after", "adapt.cool-down", "adapt.pause-on-retry-after",
        "adapt.settle-fraction", "adapt.auto-start-rate",
        "deployment-cool-down.failures-in-a-row", "deployment-cool-down.rate-limited-in-a-row", "deployment-cool-down.first", "deployment-cool-down.max",
    ];

    /// <summary>Every full path the settings read, with <c>models.&lt;id&gt;</c> left out (its keys are <see cref="ModelKeys"/>).</summary>
    internal static IReadOnlyList<string> KnownKeys { get; } =
        TopLevelKeys.Select(k => $"{RootPath}.{k}")
            .Concat(ModelKeys.Select(k => $"{RootPath}.defaults.{k}"))
            .Append($"{RootPath}.models")
            .ToList();

    // The id the defaults are read under (a model id cannot be confused with it: ids with parentheses are rare and
    // a configured "(defaults)" would only share this name in messages).
    private const string DefaultsId = "(defaults)";

    private readonly Config _defaults;
    private readonly Func<string, string?> _environment;
    private readonly Dictionary<string, ModelSettings> _configuredModels;
    private readonly CredentialLevel _globalLevel;
    private readonly CredentialLevel _defaultsLevel;
    private readonly Dictionary<string, RouteOrigin> _routeOrigins = new(StringComparer.Ordinal);
    private RouteOrigin? _defaultsOrigin;
    // The level that sets the endpoint models without their own use: defaults', else the global one.
    private readonly string _defaultsEndpointPrefix;

    private ActorThrottleSettings(Config root, Func<string, string?> environment)
    {
        _environment = environment;
        var top = new HoconReader(root, key => $"{RootPath}.{key}");
        Endpoint = top.OptionalUrl("endpoint")
            ?? throw new ActorThrottleConfigurationException(top.Path("endpoint"), "\"\"", "a default endpoint is required.");
        _globalLevel = ReadLevel(top, RootPath, Endpoint);
        ApiKey = Credentials.Resolve(Endpoint, [_globalLevel], _environment).Key;
        RequestTimeout = top.Duration("request-timeout", TimeSpan.Zero, minExclusive: true);
        UnknownModels = top.Enum<UnknownModelPolicy>("unknown-models");
        ShutdownGrace = top.Duration("shutdown-grace", TimeSpan.Zero);
        Cluster = new ClusterSettings(
            top.Bool("cluster.enabled"),
            top.RawString("cluster.role").Trim(),
            top.Int("cluster.number-of-shards", 1),
            top.Double("cluster.start-burst-fraction", 0, max: 1, minExclusive: true));
        _defaults = root.GetConfig("defaults") ?? Config.Empty;
        var defaultsReader = new HoconReader(_defaults, key => $"{RootPath}.defaults.{key}");
        var defaultsEndpoint = defaultsReader.OptionalUrl("endpoint");
        _defaultsLevel = ReadLevel(defaultsReader, $"{RootPath}.defaults", defaultsEndpoint ?? Endpoint);
        _defaultsEndpointPrefix = defaultsEndpoint is null ? RootPath : _defaultsLevel.Prefix;

        // Validate defaults on their own so an error names actor-throttle.defaults.*.
        Defaults = ReadModel(DefaultsId, Config.Empty);

        _configuredModels = new Dictionary<string, ModelSettings>(StringComparer.Ordinal);
        foreach (var id in ModelIds(root))
        {
            var block = root.GetConfig($"models.{QuoteKey(id)}") ?? Config.Empty;
            var model = ReadModel(id, block);
            _configuredModels[id] = model with { Deployments = ReadDeployments(model, block) };
        }
        CheckFallbacks(root);

        UnknownKeys = FindUnknownKeys(root);
        StartupFindings = FindStartupProblems();
    }

    /// <summary>The library's embedded reference configuration (<c>hocon/reference.conf</c>).</summary>
    public static Config Reference => ReferenceConfig.Value;

    /// <summary>Default base URL (<c>actor-throttle.endpoint</c>).</summary>
    public Uri Endpoint { get; }

    /// <summary>
    /// The key for <see cref="Endpoint"/>: <c>actor-throttle.api-key</c>, else the variable named by
    /// <c>actor-throttle.api-key-env</c>, else the environment variable of the endpoint's host (COMETAPI_KEY for
    /// api.cometapi.com, OPENAI_API_KEY for api.openai.com). Null when none applies.
    /// </summary>
    public ApiKey? ApiKey { get; }

    public TimeSpan RequestTimeout { get; }

    public UnknownModelPolicy UnknownModels { get; }

    public TimeSpan ShutdownGrace { get; }

    /// <summary><c>actor-throttle.cluster</c>: one throttle per model across an Akka.Cluster (Cluster Sharding).</summary>
    public ClusterSettings Cluster { get; }

    /// <summary>The settings a model without a block of its own gets.</summary>
    public ModelSettings Defaults { get; }

    /// <summary>The models configured under <c>actor-throttle.models</c>.</summary>
    public IReadOnlyDictionary<string, ModelSettings> ConfiguredModels => _configuredModels;

    /// <summary>
    /// Full paths under <c>actor-throttle</c> that the settings do not read (typos such as <c>max_burst</c>);
    /// worth a warning at startup. Empty when every key is known.
    /// </summary>
    public IReadOnlyList<string> UnknownKeys { get; }

    /// <summary>
    /// The start-up checks' findings (see docs/reliability.md, "Credentials and start-up checks"): errors for models with
    /// no API key for their endpoint, which the engine raises when it starts with the built-in HTTP backend, and warnings
    /// it logs (an endpoint that is not an OpenAI-compatible base URL, a key sent over plain http, a server called
    /// without a key). Empty when all is well.
    /// </summary>
    public IReadOnlyList<ConfigurationFinding> StartupFindings { get; }

    /// <summary>
    /// Reads and validates <c>actor-throttle</c> from <paramref name="config"/> (the reference configuration is
    /// the fallback). Throws <see cref="ActorThrottleConfigurationException"/> naming the path of a bad value.
    /// </summary>
    /// <param name="config">A config holding an <c>actor-throttle</c> block, e.g. the actor system's.</param>
    /// <param name="environment">Reads environment variables; defaults to <see cref="Environment.GetEnvironmentVariable(string)"/>.</param>
    public static ActorThrottleSettings FromConfig(Config? config, Func<string, string?>? environment = null)
    {
        var merged = (config ?? Config.Empty).WithFallback(Reference);
        var block = merged.HasPath(RootPath) ? merged.GetValue(RootPath) : null;
        if (block is null || !block.IsObject())
        {
            throw new ActorThrottleConfigurationException(RootPath, null, "expected a block actor-throttle { ... }.");
        }
        HoconText.CheckValues(block, RootPath);
        var root = merged.GetConfig(RootPath)
            ?? throw new ActorThrottleConfigurationException(RootPath, null, "missing block.");
        return new ActorThrottleSettings(root, environment ?? Environment.GetEnvironmentVariable);
    }

    /// <summary>
    /// Expands environment substitutions (<c>${VAR}</c>, <c>${?VAR}</c>, VAR in upper case) in HOCON text, as
    /// <see cref="Parse"/> does before Akka parses it: a set variable becomes a quoted string, an unset optional one
    /// removes its assignment, an unset required one is an error naming the key. For callers that parse the text with
    /// Akka themselves (Akka's parser mis-reads unset optional substitutions).
    /// </summary>
    public static string ExpandEnvironment(string hocon, Func<string, string?>? environment = null) =>
        HoconText.ExpandEnvironment(hocon ?? throw new ArgumentNullException(nameof(hocon)), environment ?? Environment.GetEnvironmentVariable);

    /// <summary>Parses HOCON text and reads it as <see cref="FromConfig"/> does.</summary>
    public static ActorThrottleSettings Parse(string hocon, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(hocon);
        // Akka's HOCON mis-parses unset optional substitutions (${?VAR}: the rest of the block moves up a level),
        // so environment substitutions are expanded here, from the injected environment, before it parses.
        hocon = HoconText.ExpandEnvironment(hocon, environment ?? Environment.GetEnvironmentVariable);
        // Akka's parser accepts a stray '}' (dropping the rest), an unclosed block or string and keys with no
        // value without a word; catch those before they turn into silently missing settings.
        HoconText.CheckStructure(hocon, RootPath);
        Config parsed;
        try
        {
            parsed = ConfigurationFactory.ParseString(hocon);
            HoconText.CheckValues(parsed.Root, "");
        }
        catch (ActorThrottleConfigurationException)
        {
            throw;
        }
        catch (Exception e)
        {
            // Akka's message quotes the text around the error, which may hold an API key: keep only its first
            // words and the position, and do not chain the original exception.
            throw new ActorThrottleConfigurationException(RootPath, null, $"the HOCON text does not parse: {DescribeParseError(hocon, e.Message)}");
        }
        return FromConfig(parsed, environment);
    }

    /// <summary>
    /// The settings of <paramref name="modelId"/>: its own block merged over defaults, or the defaults when it has
    /// none and <see cref="UnknownModels"/> is <see cref="UnknownModelPolicy.Create"/>; null when it must be rejected.
    /// </summary>
    public ModelSettings? ForModel(string modelId)
    {
        if (_configuredModels.TryGetValue(modelId, out var configured))
        {
            return configured;
        }
        return UnknownModels == UnknownModelPolicy.Create ? Defaults with { ModelId = modelId } : null;
    }

    /// <param name="deployment">A deployment's block (merged over the model's block), read under <paramref name="deploymentPath"/>.</param>
    private ModelSettings ReadModel(string id, Config block, Config? deployment = null, string? deploymentPath = null)
    {
        var merged = deployment is null ? block.WithFallback(_defaults) : deployment.WithFallback(block).WithFallback(_defaults);
        string Describe(string key) => deployment is not null && deployment.HasPath(key) ? $"{deploymentPath}.{key}"
            : block.HasPath(key) ? $"{RootPath}.models.{QuoteKey(id)}.{key}"
            : $"{RootPath}.defaults.{key}";
        var r = new HoconReader(merged, Describe);

        // A pair that conflicts is blamed on the key the model block sets (the defaults were validated alone), so
        // the error points at the line to change. min-burst/min-rate/max-delay are blamed when both or neither are.
        bool InBlock(string key) => (deployment ?? block).HasPath(key);
        var maxBurst = r.Int("max-burst", 1);
        var minBurst = r.Int("min-burst", 1);
        if (minBurst > maxBurst)
        {
            throw !InBlock("min-burst") && InBlock("max-burst")
                ? new ActorThrottleConfigurationException(r.Path("max-burst"), maxBurst.ToString(CultureInfo.InvariantCulture), $"must be at least min-burst ({minBurst}).")
                : new ActorThrottleConfigurationException(r.Path("min-burst"), minBurst.ToString(CultureInfo.InvariantCulture), $"must not exceed max-burst ({maxBurst}).");
        }
        var configuredRate = r.DoubleOrAuto("requests-per-second", 0, minExclusive: true);
        var autoStartRate = r.Double("adapt.auto-start-rate", 0, minExclusive: true);
        // With auto the throttle starts at adapt.auto-start-rate; min-rate must not exceed where it starts.
        var rate = configuredRate ?? autoStartRate;
        var minRate = r.Double("min-rate", 0, minExclusive: true);
        if (minRate > rate && configuredRate is null)
        {
            throw !InBlock("min-rate") && InBlock("adapt.auto-start-rate")
                ? new ActorThrottleConfigurationException(r.Path("adapt.auto-start-rate"), Number(rate), $"must be at least min-rate ({Number(minRate)}) (requests-per-second = auto starts there).")
                : new ActorThrottleConfigurationException(r.Path("min-rate"), Number(minRate), $"must not exceed adapt.auto-start-rate ({Number(rate)}), where requests-per-second = auto starts.");
        }
        if (minRate > rate)
        {
            throw !InBlock("min-rate") && InBlock("requests-per-second")
                ? new ActorThrottleConfigurationException(r.Path("requests-per-second"), Number(rate), $"must be at least min-rate ({Number(minRate)}); lower min-rate too.")
                : new ActorThrottleConfigurationException(r.Path("min-rate"), Number(minRate), $"must not exceed requests-per-second ({Number(rate)}).");
        }
        var baseDelay = r.Duration("retry.base-delay", TimeSpan.Zero);
        var maxDelay = r.Duration("retry.max-delay", TimeSpan.Zero);
        if (maxDelay < baseDelay)
        {
            throw !InBlock("retry.max-delay") && InBlock("retry.base-delay")
                ? new ActorThrottleConfigurationException(r.Path("retry.base-delay"), r.RawString("retry.base-delay"), $"must not exceed retry.max-delay ({r.RawString("retry.max-delay")}).")
                : new ActorThrottleConfigurationException(r.Path("retry.max-delay"), r.RawString("retry.max-delay"), $"must be at least retry.base-delay ({r.RawString("retry.base-delay")}).");
        }
        var coolDownFirst = r.Duration("deployment-cool-down.first", TimeSpan.Zero, minExclusive: true);
        var coolDownMax = r.Duration("deployment-cool-down.max", TimeSpan.Zero, minExclusive: true);
        if (coolDownMax < coolDownFirst)
        {
            throw !InBlock("deployment-cool-down.max") && InBlock("deployment-cool-down.first")
                ? new ActorThrottleConfigurationException(r.Path("deployment-cool-down.first"), r.RawString("deployment-cool-down.first"), $"must not exceed deployment-cool-down.max ({r.RawString("deployment-cool-down.max")}).")
                : new ActorThrottleConfigurationException(r.Path("deployment-cool-down.max"), r.RawString("deployment-cool-down.max"), $"must be at least deployment-cool-down.first ({r.RawString("deployment-cool-down.first")}).");
        }

        return new ModelSettings
        {
            ModelId = id,
            Route = ReadRoute(id, block, deployment, deploymentPath),
            RequestTimeout = r.Has("request-timeout") ? r.Duration("request-timeout", TimeSpan.Zero, minExclusive: true) : RequestTimeout,
            RequestsPerSecond = rate,
            AutoRate = configuredRate is null,
            TokensPerMinute = r.LongOrAuto("tokens-per-minute", 0) is { } tokens ? tokens : 0,
            AutoTokens = !r.LongOrAuto("tokens-per-minute", 0).HasValue,
            TokensBurst = r.Long("tokens-burst", 0),
            TokenAccounting = r.Enum<TokenAccounting>("token-accounting"),
            DefaultMaxTokens = r.Int("default-max-tokens", 1),
            MaxContextTokens = r.Int("max-context-tokens", 1),
            MaxBurst = maxBurst,
            MinBurst = minBurst,
            MinRate = minRate,
            MaxInFlight = r.Int("max-in-flight", 1),
            QueueSize = r.Int("queue-size", 1),
            BatchShare = r.Double("batch-share", 0, max: 0.5),
            Fallbacks = r.StringList("fallbacks"),
            ProviderModel = r.Has("provider-model") && r.RawString("provider-model").Trim() is { Length: > 0 } providerModel ? providerModel : null,
            StreamUsage = r.Bool("stream-usage"),
            Retry = new RetrySettings(
                MaxAttempts: r.Int("retry.max-attempts", 1),
                BaseDelay: baseDelay,
                MaxDelay: maxDelay,
                MaxRetryAfter: r.Duration("retry.max-retry-after", TimeSpan.Zero),
                Budget: r.Double("retry.budget", 0),
                BudgetWindow: r.Duration("retry.budget-window", TimeSpan.Zero, minExclusive: true),
                BudgetMinPerSecond: r.Double("retry.budget-min-per-second", 0)),
            Adapt = new AdaptSettings(
                DecreaseFactor: ReadFactor(r),
                IncreaseStep: r.Double("adapt.increase-step", 0, minExclusive: true),
                IncreaseAfter: r.Int("adapt.increase-after", 1),
                CoolDown: r.Duration("adapt.cool-down", TimeSpan.Zero),
                PauseOnRetryAfter: r.Enum<RetryAfterScope>("adapt.pause-on-retry-after"),
                SettleFraction: r.Double("adapt.settle-fraction", 0, max: 1))
            {
                AutoStartRate = autoStartRate,
            },
            DeploymentCoolDown = new DeploymentCoolDownSettings(
                FailuresInARow: r.Int("deployment-cool-down.failures-in-a-row", 1),
                RateLimitedInARow: r.Int("deployment-cool-down.rate-limited-in-a-row", 1),
                First: coolDownFirst,
                Max: coolDownMax),
        };
    }

    // A fallback must be a model this configuration can serve, and not the model itself.
    private void CheckFallbacks(Config root)
    {
        foreach (var model in _configuredModels.Values.Append(Defaults))
        {
            foreach (var fallback in model.Fallbacks)
            {
                var isDefaults = ReferenceEquals(model, Defaults);
                var path = isDefaults || !(root.GetConfig($"models.{QuoteKey(model.ModelId)}")?.HasPath("fallbacks") ?? false)
                    ? $"{RootPath}.defaults.fallbacks"
                    : $"{RootPath}.models.{QuoteKey(model.ModelId)}.fallbacks";
                if (!isDefaults && fallback == model.ModelId)
                {
                    throw new ActorThrottleConfigurationException(path, $"\"{fallback}\"", "a model cannot fall back to itself.");
                }
                if (UnknownModels == UnknownModelPolicy.Reject && !_configuredModels.ContainsKey(fallback))
                {
                    throw new ActorThrottleConfigurationException(path, $"\"{fallback}\"", "names a model with no block under actor-throttle.models while unknown-models = reject.");
                }
            }
        }
    }

    private static double ReadFactor(HoconReader r)
    {
        var factor = r.Double("adapt.decrease-factor", 0, minExclusive: true);
        if (factor >= 1)
        {
            throw new ActorThrottleConfigurationException(r.Path("adapt.decrease-factor"), Number(factor), "must be below 1 (a decrease).");
        }
        return factor;
    }

    // One level's credentials: its key (api-key, else the variable api-key-env names) bound to `endpoint`, the endpoint
    // in effect at that level. Setting both keys at one level is ambiguous: which wins would be a guess. The variable's
    // name is echoed in messages only when it looks like one (upper case, digits, _): someone may paste the key itself.
    private CredentialLevel ReadLevel(HoconReader r, string prefix, Uri endpoint)
    {
        var key = r.OptionalSecret("api-key");
        var variable = r.Has("api-key-env") ? r.RawString("api-key-env").Trim() : "";
        if (key is not null && variable.Length > 0)
        {
            throw new ActorThrottleConfigurationException(r.Path("api-key-env"), null, $"set either {r.Path("api-key")} or {r.Path("api-key-env")}, not both.");
        }
        string? unset = null;
        if (variable.Length > 0)
        {
            if (!System.Text.RegularExpressions.Regex.IsMatch(variable, "^[A-Za-z_][A-Za-z0-9_.]*$"))
            {
                throw new ActorThrottleConfigurationException(r.Path("api-key-env"), null,
                    "expected the name of an environment variable (letters, digits, _), such as MY_PROVIDER_KEY: the variable's name, not the key (the value is not shown).");
            }
            key = Credentials.FromEnvironment(_environment, variable);
            unset = key is not null ? null
                : System.Text.RegularExpressions.Regex.IsMatch(variable, "^[A-Z_][A-Z0-9_]*$") ? variable
                : "";
        }
        var allow = r.Has("allow-unauthenticated") && r.Bool("allow-unauthenticated");
        return new CredentialLevel(prefix, endpoint, key, allow, unset);
    }

    /// <summary>Keys a deployment may not set: they belong to the model as a whole.</summary>
    private static readonly IReadOnlyList<string> ModelOnlyKeys = ["fallbacks", "queue-size", "batch-share", "deployments"];

    /// <summary>The keys a deployment block may hold beyond <see cref="ModelKeys"/> (less <see cref="ModelOnlyKeys"/>).</summary>
    internal static readonly IReadOnlyList<string> DeploymentKeys = ["name", "weight", "priority"];

    /// <summary>Reads <c>models."id".deployments</c>: each block merged over the model's block and the defaults.</summary>
    private List<DeploymentSettings> ReadDeployments(ModelSettings model, Config block)
    {
        if (!block.HasPath("deployments"))
        {
            return [];
        }
        var id = model.ModelId;
        var prefix = $"{RootPath}.models.{QuoteKey(id)}.deployments";
        var value = block.GetValue("deployments");
        if (value is null || !value.IsArray())
        {
            throw new ActorThrottleConfigurationException(prefix, null,
                "expected a list of blocks: deployments = [ { endpoint = \"https://...\", requests-per-second = auto }, { ... } ].");
        }
        var items = value.GetArray();
        if (items.Count == 0)
        {
            throw new ActorThrottleConfigurationException(prefix, "[]", "list at least one deployment, or leave deployments out (the model's own endpoint serves it).");
        }
        var list = new List<DeploymentSettings>(items.Count);
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < items.Count; i++)
        {
            var path = $"{prefix}[{i}]";
            if (items[i] is not { } item || !item.IsObject())
            {
                throw new ActorThrottleConfigurationException(path, null, "expected a block { endpoint = \"https://...\", requests-per-second = ... }.");
            }
            var deployment = new Config(new HoconRoot(item));
            foreach (var key in ModelOnlyKeys.Where(deployment.HasPath))
            {
                throw new ActorThrottleConfigurationException($"{path}.{key}", null, $"belongs to the model as a whole: set it in {RootPath}.models.{QuoteKey(id)}.{key}.");
            }
            var r = new HoconReader(deployment, key => $"{path}.{key}");
            var name = r.Has("name") ? r.RawString("name").Trim() : i.ToString(CultureInfo.InvariantCulture);
            if (name.Length == 0)
            {
                throw new ActorThrottleConfigurationException(r.Path("name"), "\"\"", "a deployment's name must not be blank.");
            }
            if (!names.Add(name))
            {
                throw new ActorThrottleConfigurationException(r.Path("name"), Quote(name), "another deployment of this model has that name; names must be unique.");
            }
            var weight = r.Has("weight") ? r.Double("weight", 0, minExclusive: true) : 1;
            var priority = r.Has("priority") ? r.Int("priority", 0) : 0;
            var settings = ReadModel(id, block, deployment, path);
            list.Add(new DeploymentSettings(name, i, weight, priority, settings with
            {
                ModelId = $"{id}@{name}",
                // The provider is asked for the model by its own name, not by the deployment's id.
                ProviderModel = settings.ProviderModel ?? id,
                Fallbacks = [],
                IsDeployment = true,
            }));
        }
        return list;
    }

    private ModelRoute ReadRoute(string id, Config block, Config? deployment = null, string? deploymentPath = null)
    {
        var levels = new List<CredentialLevel>(3);
        string endpointPrefix;
        Uri endpoint;
        if (id == DefaultsId && _defaultsOrigin is null)
        {
            endpoint = _defaultsLevel.Endpoint;
            endpointPrefix = _defaultsEndpointPrefix;
        }
        else
        {
            var prefix = $"{RootPath}.models.{QuoteKey(id)}";
            var own = new HoconReader(block, key => $"{prefix}.{key}");
            var ownEndpoint = own.OptionalUrl("endpoint");
            endpoint = ownEndpoint ?? _defaultsLevel.Endpoint;
            endpointPrefix = ownEndpoint is not null ? prefix : _defaultsEndpointPrefix;
            levels.Add(ReadLevel(own, prefix, endpoint));
            if (deployment is not null)
            {
                // A deployment is one more level inside the model: its key is bound to its own endpoint.
                var mine = new HoconReader(deployment, key => $"{deploymentPath}.{key}");
                var myEndpoint = mine.OptionalUrl("endpoint");
                endpoint = myEndpoint ?? endpoint;
                endpointPrefix = myEndpoint is not null ? deploymentPath! : endpointPrefix;
                levels.Insert(0, ReadLevel(mine, deploymentPath!, endpoint));
            }
        }
        levels.Add(_defaultsLevel);
        levels.Add(_globalLevel);
        var origin = new RouteOrigin(endpointPrefix, levels);
        if (id == DefaultsId && _defaultsOrigin is null)
        {
            _defaultsOrigin = origin;
        }
        else
        {
            // Deployment routes are keyed by their HOCON path, which no model id can equal.
            _routeOrigins[deployment is null ? id : deploymentPath!] = origin;
        }
        var (key, allow) = Credentials.Resolve(endpoint, levels, _environment);
        return new ModelRoute(endpoint, key) { AllowUnauthenticated = allow };
    }

    private List<ConfigurationFinding> FindStartupProblems()
    {
        var findings = new List<ConfigurationFinding>();
        // A model with deployments never calls its own endpoint: its deployments' routes are the ones to check.
        var routes = _configuredModels.Values.SelectMany(m => m.Deployments.Count == 0
                ? [(Id: m.ModelId, m.Route, Origin: _routeOrigins[m.ModelId], IsDefaults: false)]
                : m.Deployments.Select(d => (Id: d.Settings.ModelId, d.Settings.Route,
                    Origin: _routeOrigins[$"{RootPath}.models.{QuoteKey(m.ModelId)}.deployments[{d.Index}]"], IsDefaults: false)))
            .ToList();
        if (UnknownModels == UnknownModelPolicy.Create)
        {
            routes.Add((DefaultsId, Defaults.Route, _defaultsOrigin!, true));
        }

        // No key: grouped by the path to fix, so one missing global key is one message naming every model it stops.
        foreach (var group in routes.Where(r => r.Route.ApiKey is null && !r.Route.AllowUnauthenticated)
                     .GroupBy(r => r.Origin.EndpointPrefix + ".api-key"))
        {
            var first = group.First();
            var origin = first.Origin;
            var onlyDefaults = group.All(r => r.IsDefaults);
            var who = string.Join(", ", group.Select(r => r.IsDefaults ? "models without a block under actor-throttle.models" : $"'{r.Id}'"));
            var endpoint = first.Route.Endpoint;
            var fixes = new List<string> { $"Set {origin.EndpointPrefix}.api-key or {origin.EndpointPrefix}.api-key-env" };
            if (Credentials.ProviderOf(endpoint) is { } provider)
            {
                fixes.Add($"set {provider.Variable} (sent only to https://{provider.Host})");
            }
            fixes.Add($"for a local server without keys (vLLM, Ollama) set {origin.EndpointPrefix}.allow-unauthenticated = on");
            if (onlyDefaults)
            {
                fixes.Add("or set actor-throttle.unknown-models = reject when every model has a block");
            }
            var why = Credentials.ExplainMissing(endpoint, origin.Levels, _environment).Distinct().ToList();
            var message = $"no API key for {first.Route.Display} ({origin.EndpointPrefix}.endpoint), which {who} would call. "
                + string.Join("; ", fixes) + "."
                + (why.Count > 0 ? " Note: " + string.Join("; ", why) + "." : "");
            // Models created from defaults are an error only when nothing else is configured (every request would fail);
            // beside configured models they are a warning, and each such request fails naming this path.
            var isError = !onlyDefaults || _configuredModels.Count == 0;
            findings.Add(new ConfigurationFinding(origin.EndpointPrefix + ".api-key", message, isError));
        }

        foreach (var group in routes.Where(r => r.Route.ApiKey is null && r.Route.AllowUnauthenticated).GroupBy(r => r.Route.Display))
        {
            var prefix = group.First().Origin.EndpointPrefix;
            findings.Add(new ConfigurationFinding(prefix + ".allow-unauthenticated",
                $"{group.Key} is called without an API key (allow-unauthenticated = on) by " +
                string.Join(", ", group.Select(r => r.IsDefaults ? "models without a block" : $"'{r.Id}'")) + ".", IsError: false));
        }

        var endpoints = new List<(string Path, Uri Endpoint, bool HasKey)> { ($"{RootPath}.endpoint", Endpoint, ApiKey is not null) };
        if (_defaultsOrigin!.EndpointPrefix != RootPath)
        {
            endpoints.Add(($"{RootPath}.defaults.endpoint", _defaultsLevel.Endpoint, Defaults.Route.ApiKey is not null));
        }
        foreach (var (_, route, origin, _) in routes.Where(r => !r.IsDefaults))
        {
            var prefix = origin.EndpointPrefix;
            if (prefix != RootPath && prefix != _defaultsLevel.Prefix)
            {
                endpoints.Add(($"{prefix}.endpoint", route.Endpoint, route.ApiKey is not null));
            }
        }
        foreach (var (path, endpoint, hasKey) in endpoints.DistinctBy(e => e.Path))
        {
            if (EndpointWarning(endpoint, hasKey) is { } warning)
            {
                findings.Add(new ConfigurationFinding(path, warning, IsError: false));
            }
        }
        return findings;
    }

    /// <summary>Why <paramref name="endpoint"/> does not look like an OpenAI-compatible base URL (or is unsafe for a key); null when it does.</summary>
    internal static string? EndpointWarning(Uri endpoint, bool hasKey)
    {
        var display = new ModelRoute(endpoint, null).Display;
        var path = endpoint.AbsolutePath.TrimEnd('/');
        if (path.EndsWith("/chat/completions", StringComparison.OrdinalIgnoreCase))
        {
            return $"{display} ends in /chat/completions, which the client appends itself (calls would go to {display.TrimEnd('/')}/chat/completions); " +
                $"set the base URL, {display.TrimEnd('/')[..^"/chat/completions".Length]}.";
        }
        if (Credentials.HostOf(endpoint) is { } known && !path.StartsWith("/v1", StringComparison.OrdinalIgnoreCase))
        {
            return $"{display} does not look like {known.Host}'s OpenAI-compatible base URL (calls would go to {display.TrimEnd('/')}/chat/completions " +
                $"and be answered 404); use {known.BaseUrl}.";
        }
        if (hasKey && endpoint.Scheme == Uri.UriSchemeHttp && !endpoint.IsLoopback)
        {
            return $"{display} is plain http: the API key would cross the network unencrypted; use https.";
        }
        return null;
    }
    private static IEnumerable<string> ModelIds(Config root)
    {
        if (!root.HasPath("models"))
        {
            return [];
        }
        var models = root.GetValue("models");
        if (models is null || !models.IsObject())
        {
            throw new ActorThrottleConfigurationException($"{RootPath}.models", null, "expected a block of model ids: models { \"gpt-4.1\" { ... } }.");
        }
        foreach (var (id, block) in models.GetObject().Items)
        {
            if (block is null || !block.IsObject())
            {
                throw new ActorThrottleConfigurationException($"{RootPath}.models.{QuoteKey(id)}", null, "expected a block { ... } of settings for this model.");
            }
        }
        return models.GetObject().Items.Keys.ToList();
    }

    private static List<string> FindUnknownKeys(Config root)
    {
        var known = new HashSet<string>(TopLevelKeys.Where(k => !k.Contains('.')).Concat(["defaults", "models"]), StringComparer.Ordinal);
        var nested = new HashSet<string>(TopLevelKeys.Where(k => k.Contains('.')), StringComparer.Ordinal);
        var modelKeys = new HashSet<string>(ModelKeys, StringComparer.Ordinal);
        var unknown = new List<string>();
        foreach (var (key, value) in root.Root.GetObject().Items)
        {
            var segment = HoconText.Segment(key);
            if (nested.Any(k => k.StartsWith(key + ".", StringComparison.Ordinal)))
            {
                foreach (var leaf in HoconText.LeafPaths(value, ""))
                {
                    if (leaf.Length > 0 && !nested.Contains($"{key}.{leaf}"))
                    {
                        unknown.Add($"{RootPath}.{segment}.{leaf}");
                    }
                }
            }
            else if (!known.Contains(key))
            {
                unknown.Add($"{RootPath}.{segment}");
            }
            else if (key == "defaults")
            {
                AddUnknownModelKeys(value, $"{RootPath}.defaults", modelKeys, unknown);
            }
            else if (key == "models" && value.IsObject())
            {
                foreach (var (id, block) in value.GetObject().Items)
                {
                    AddUnknownModelKeys(block, $"{RootPath}.models.{QuoteKey(id)}", modelKeys, unknown, isModel: true);
                    if (block.IsObject() && block.GetObject().Items.TryGetValue("deployments", out var deployments) && deployments.IsArray())
                    {
                        var deploymentKeys = new HashSet<string>(modelKeys.Concat(DeploymentKeys), StringComparer.Ordinal);
                        var list = deployments.GetArray();
                        for (var i = 0; i < list.Count; i++)
                        {
                            AddUnknownModelKeys(list[i], $"{RootPath}.models.{QuoteKey(id)}.deployments[{i}]", deploymentKeys, unknown);
                        }
                    }
                }
            }
        }
        return unknown;
    }

    private static void AddUnknownModelKeys(HoconValue block, string prefix, HashSet<string> modelKeys, List<string> unknown, bool isModel = false)
    {
        foreach (var leaf in HoconText.LeafPaths(block, ""))
        {
            if (leaf.Length > 0 && !(isModel && leaf == "deployments") && !modelKeys.Contains(leaf) && !modelKeys.Any(k => k.StartsWith(leaf + ".", StringComparison.Ordinal)))
            {
                unknown.Add($"{prefix}.{leaf}");
            }
        }
    }

    private static string DescribeParseError(string hocon, string message)
    {
        var firstLine = message.Split('\n', 2)[0].Trim();
        var match = System.Text.RegularExpressions.Regex.Match(firstLine, @"^(?<what>.*?) at position (?<pos>\d+)");
        if (match.Success && int.TryParse(match.Groups["pos"].Value, CultureInfo.InvariantCulture, out var position))
        {
            position = Math.Clamp(position, 0, hocon.Length);
            var line = 1 + hocon.AsSpan(0, position).Count('\n');
            var column = position - (hocon.LastIndexOf('\n', Math.Max(0, position - 1)) + 1) + 1;
            return $"{match.Groups["what"].Value} at line {line}, column {column}.";
        }
        // Messages without a position (e.g. "Unresolved substitution: X") name no value; cut anything after a colon
        // that could quote the text.
        return firstLine.Length > 200 ? firstLine[..200] + "..." : firstLine;
    }

    private static string Quote(string raw) => $"\"{raw}\"";

    private static string Number(double value) => value.ToString(CultureInfo.InvariantCulture);

    internal static string QuoteKey(string id) => "\"" + id.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

    private static Config LoadReference()
    {
        var assembly = typeof(ActorThrottleSettings).GetTypeInfo().Assembly;
        using var stream = assembly.GetManifestResourceStream("ActorThrottle.reference.conf")
            ?? throw new InvalidOperationException("The embedded reference configuration is missing from the ActorThrottle assembly.");
        using var reader = new StreamReader(stream);
        return ConfigurationFactory.ParseString(reader.ReadToEnd());
    }
}
