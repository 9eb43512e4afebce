using System.Reflection;
using Akka.Configuration;

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

    private readonly Config _defaults;
    private readonly Func<string, string?> _environment;
    private readonly Dictionary<string, ModelSettings> _configuredModels;

    private ActorThrottleSettings(Config root, Func<string, string?> environment)
    {
        _environment = environment;
        var top = new HoconReader(root, key => $"{RootPath}.{key}");
        Endpoint = top.OptionalUrl("endpoint")
            ?? throw new ActorThrottleConfigurationException(top.Path("endpoint"), "\"\"", "a default endpoint is required.");
        ApiKey = top.OptionalSecret("api-key") ?? KeyFromEnvironment();
        RequestTimeout = top.Duration("request-timeout", TimeSpan.Zero, minExclusive: true);
        UnknownModels = top.Enum<UnknownModelPolicy>("unknown-models");
        ShutdownGrace = top.Duration("shutdown-grace", TimeSpan.Zero);
        _defaults = root.GetConfig("defaults") ?? Config.Empty;

        // Validate defaults on their own so an error names actor-throttle.defaults.*.
        Defaults = ReadModel("(defaults)", Config.Empty);

        _configuredModels = new Dictionary<string, ModelSettings>(StringComparer.Ordinal);
        foreach (var id in ModelIds(root))
        {
            var block = root.GetConfig($"models.{QuoteKey(id)}") ?? Config.Empty;
            _configuredModels[id] = ReadModel(id, block);
        }
    }

    /// <summary>The library's embedded reference configuration (<c>hocon/reference.conf</c>).</summary>
    public static Config Reference => ReferenceConfig.Value;

    /// <summary>Default base URL (<c>actor-throttle.endpoint</c>).</summary>
    public Uri Endpoint { get; }

    /// <summary>Default key: <c>actor-throttle.api-key</c>, else COMETAPI_KEY, else OPENAI_API_KEY. Null when none is set.</summary>
    public ApiKey? ApiKey { get; }

    public TimeSpan RequestTimeout { get; }

    public UnknownModelPolicy UnknownModels { get; }

    public TimeSpan ShutdownGrace { get; }

    /// <summary>The settings a model without a block of its own gets.</summary>
    public ModelSettings Defaults { get; }

    /// <summary>The models configured under <c>actor-throttle.models</c>.</summary>
    public IReadOnlyDictionary<string, ModelSettings> ConfiguredModels => _configuredModels;

    /// <summary>
    /// Reads and validates <c>actor-throttle</c> from <paramref name="config"/> (the reference configuration is
    /// the fallback). Throws <see cref="ActorThrottleConfigurationException"/> naming the path of a bad value.
    /// </summary>
    /// <param name="config">A config holding an <c>actor-throttle</c> block, e.g. the actor system's.</param>
    /// <param name="environment">Reads environment variables; defaults to <see cref="Environment.GetEnvironmentVariable(string)"/>.</param>
    public static ActorThrottleSettings FromConfig(Config? config, Func<string, string?>? environment = null)
    {
        var merged = (config ?? Config.Empty).WithFallback(Reference);
        var root = merged.GetConfig(RootPath)
            ?? throw new ActorThrottleConfigurationException(RootPath, null, "missing block.");
        return new ActorThrottleSettings(root, environment ?? Environment.GetEnvironmentVariable);
    }

    /// <summary>Parses HOCON text and reads it as <see cref="FromConfig"/> does.</summary>
    public static ActorThrottleSettings Parse(string hocon, Func<string, string?>? environment = null)
    {
        Config parsed;
        try
        {
            parsed = ConfigurationFactory.ParseString(hocon);
        }
        catch (Exception e)
        {
            throw new ActorThrottleConfigurationException(RootPath, null, $"the HOCON text does not parse: {e.Message}", e);
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

    private ModelSettings ReadModel(string id, Config block)
    {
        var merged = block.WithFallback(_defaults);
        string Describe(string key) => block.HasPath(key)
            ? $"{RootPath}.models.{QuoteKey(id)}.{key}"
            : $"{RootPath}.defaults.{key}";
        var r = new HoconReader(merged, Describe);

        var maxBurst = r.Int("max-burst", 1);
        var minBurst = r.Int("min-burst", 1);
        if (minBurst > maxBurst)
        {
            throw new ActorThrottleConfigurationException(r.Path("min-burst"), minBurst.ToString(), $"must not exceed max-burst ({maxBurst}).");
        }
        var rate = r.Double("requests-per-second", 0, minExclusive: true);
        var minRate = r.Double("min-rate", 0, minExclusive: true);
        if (minRate > rate)
        {
            throw new ActorThrottleConfigurationException(r.Path("min-rate"), minRate.ToString(System.Globalization.CultureInfo.InvariantCulture), $"must not exceed requests-per-second ({rate.ToString(System.Globalization.CultureInfo.InvariantCulture)}).");
        }
        var baseDelay = r.Duration("retry.base-delay", TimeSpan.Zero);
        var maxDelay = r.Duration("retry.max-delay", TimeSpan.Zero);
        if (maxDelay < baseDelay)
        {
            throw new ActorThrottleConfigurationException(r.Path("retry.max-delay"), maxDelay.ToString(), $"must be at least retry.base-delay ({baseDelay}).");
        }

        return new ModelSettings
        {
            ModelId = id,
            Route = new ModelRoute(r.OptionalUrl("endpoint") ?? Endpoint, r.OptionalSecret("api-key") ?? ApiKey),
            RequestTimeout = r.Has("request-timeout") ? r.Duration("request-timeout", TimeSpan.Zero, minExclusive: true) : RequestTimeout,
            RequestsPerSecond = rate,
            TokensPerMinute = r.Long("tokens-per-minute", 0),
            TokenAccounting = r.Enum<TokenAccounting>("token-accounting"),
            DefaultMaxTokens = r.Int("default-max-tokens", 1),
            MaxContextTokens = r.Int("max-context-tokens", 1),
            MaxBurst = maxBurst,
            MinBurst = minBurst,
            MinRate = minRate,
            MaxInFlight = r.Int("max-in-flight", 1),
            QueueSize = r.Int("queue-size", 1),
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
                PauseOnRetryAfter: r.Enum<RetryAfterScope>("adapt.pause-on-retry-after")),
        };
    }

    private static double ReadFactor(HoconReader r)
    {
        var factor = r.Double("adapt.decrease-factor", 0, minExclusive: true);
        if (factor >= 1)
        {
            throw new ActorThrottleConfigurationException(r.Path("adapt.decrease-factor"), factor.ToString(System.Globalization.CultureInfo.InvariantCulture), "must be below 1 (a decrease).");
        }
        return factor;
    }

    private ApiKey? KeyFromEnvironment()
    {
        foreach (var name in new[] { "COMETAPI_KEY", "OPENAI_API_KEY" })
        {
            var value = _environment(name);
            if (!string.IsNullOrWhiteSpace(value))
            {
                return new ApiKey(value.Trim());
            }
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
            return [];
        }
        return models.GetObject().Items.Keys.ToList();
    }

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
