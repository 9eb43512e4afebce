using System.Globalization;
using System.Text;
using System.Text.Json;
using ActorThrottle.Configuration;
using Akka.Configuration;

namespace ActorThrottle.Hosting;

/// <summary>
/// Code-first configuration for <see cref="ActorThrottleHostingExtensions.WithActorThrottle(Akka.Hosting.AkkaConfigurationBuilder, ActorThrottleOptions)"/>.
/// Turned into HOCON under <c>actor-throttle</c> and prepended to the actor system's config, so it wins over
/// HOCON files; the reference configuration is the fallback.
/// </summary>
public sealed class ActorThrottleOptions
{
    /// <summary><c>actor-throttle.endpoint</c>; default <c>https://api.cometapi.com/v1</c>.</summary>
    public string? Endpoint { get; set; }

    /// <summary>
    /// <c>actor-throttle.api-key</c>, sent only to <see cref="Endpoint"/>'s host (a model with its own endpoint on another host
    /// does not inherit it). Default: the host's own variable, COMETAPI_KEY for api.cometapi.com, OPENAI_API_KEY for api.openai.com.
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary><c>actor-throttle.api-key-env</c>: the name of the environment variable holding the key for <see cref="Endpoint"/>; set this or <see cref="ApiKey"/>.</summary>
    public string? ApiKeyEnv { get; set; }

    /// <summary><c>actor-throttle.allow-unauthenticated</c>: <see cref="Endpoint"/> is a local server without keys (vLLM, Ollama).</summary>
    public bool? AllowUnauthenticated { get; set; }

    /// <summary><c>actor-throttle.request-timeout</c>; default 60 s.</summary>
    public TimeSpan? RequestTimeout { get; set; }

    /// <summary><c>actor-throttle.unknown-models</c>; default <see cref="UnknownModelPolicy.Create"/>.</summary>
    public UnknownModelPolicy? UnknownModels { get; set; }

    /// <summary>
    /// <c>actor-throttle.cluster</c>: null keeps HOCON's (reference: off). With <see cref="ActorThrottleClusterOptions.Enabled"/>,
    /// one throttle per model for the whole Akka.Cluster (Cluster Sharding). The actor system must be a cluster one
    /// (<c>akka.actor.provider = cluster</c>, e.g. Akka.Cluster.Hosting's <c>WithClustering</c>), and the throttle is added
    /// with <c>WithActorThrottleCluster</c> (package ActorThrottle.Cluster), not <c>WithActorThrottle</c>; seed nodes, roles and
    /// remoting come from the usual Akka settings.
    /// </summary>
    public ActorThrottleClusterOptions? Cluster { get; set; }

    /// <summary><c>actor-throttle.defaults</c>.</summary>
    public ModelOptions Defaults { get; } = new();

    /// <summary><c>actor-throttle.models."id"</c>.</summary>
    public Dictionary<string, ModelOptions> Models { get; } = new(StringComparer.Ordinal);

    /// <summary>Extra HOCON (a full document, e.g. <c>actor-throttle.defaults.adapt.cool-down = 2s</c>); the properties above win over it.</summary>
    public string? Hocon { get; set; }

    /// <summary>
    /// Default false: the engine's events and Akka's own logs go to the host's <c>ILoggerFactory</c> (the
    /// <c>Microsoft.Extensions.Logging</c> pipeline). True: both go to Serilog's static <c>Log.Logger</c> instead.
    /// A <see cref="ThrottleEnvironment.Logger"/> or <see cref="ThrottleEnvironment.LoggerFactory"/> given in
    /// <see cref="Environment"/> wins for the engine's events.
    /// </summary>
    public bool UseSerilog { get; set; }

    /// <summary>The router's actor name; default <c>actor-throttle</c>.</summary>
    public string ActorName { get; set; } = "actor-throttle";

    /// <summary>Backend, clock, randomness, logger and metrics; defaults as on <see cref="ThrottleEnvironment"/>.</summary>
    public ThrottleEnvironment? Environment { get; set; }

    /// <summary>
    /// Options whose settings come from <paramref name="section"/> (e.g. <c>builder.Configuration.GetSection("ActorThrottle")</c>):
    /// the reference configuration's keys in PascalCase (<c>Defaults:Retry:MaxAttempts</c>), model ids verbatim under
    /// <c>Models</c>. The section sits below <see cref="Hocon"/> and the properties set in code, above the app's HOCON.
    /// A bad value fails the host's start naming both paths, e.g.
    /// <c>'ActorThrottle:Defaults:Retry:MaxAttempts' (HOCON 'actor-throttle.defaults.retry.max-attempts')</c>.
    /// </summary>
    public static ActorThrottleOptions FromConfiguration(Microsoft.Extensions.Configuration.IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        var (hocon, paths) = ActorThrottleConfigurationBinder.ToHocon(section);
        return new ActorThrottleOptions { ConfigurationHocon = hocon, ConfigurationPaths = paths, ConfigurationSectionPath = section.Path, ConfigurationSection = section };
    }

    /// <summary>
    /// A copy of these options with the bound section read again (a configuration reload): what was set in code is
    /// shared and still wins over the section.
    /// </summary>
    internal ActorThrottleOptions WithSectionReread()
    {
        var section = ConfigurationSection ?? throw new InvalidOperationException("No configuration section is bound.");
        var (hocon, paths) = ActorThrottleConfigurationBinder.ToHocon(section);
        var copy = (ActorThrottleOptions)MemberwiseClone();
        copy.ConfigurationHocon = hocon;
        copy.ConfigurationPaths = paths;
        return copy;
    }

    /// <summary>The bound section (null when none): watched for changes while the host runs.</summary>
    internal Microsoft.Extensions.Configuration.IConfigurationSection? ConfigurationSection { get; private init; }

    /// <summary>The HOCON of the bound configuration section, under <see cref="Hocon"/>; null when none was bound.</summary>
    internal string? ConfigurationHocon { get; private set; }

    /// <summary>For each value the section set, its configuration path by HOCON path (for errors naming both).</summary>
    internal IReadOnlyDictionary<string, string>? ConfigurationPaths { get; private set; }

    internal string? ConfigurationSectionPath { get; private init; }

    /// <summary>Adds or updates a model's block.</summary>
    public ActorThrottleOptions Model(string id, Action<ModelOptions> configure)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        ArgumentNullException.ThrowIfNull(configure);
        if (!Models.TryGetValue(id, out var model))
        {
            Models[id] = model = new ModelOptions();
        }
        configure(model);
        return this;
    }

    /// <summary>The HOCON these options stand for (without the reference fallback).</summary>
    public Config ToConfig()
    {
        var hocon = new StringBuilder();
        hocon.AppendLine("actor-throttle {");
        Append(hocon, "endpoint", Endpoint);
        Append(hocon, "api-key", ApiKey);
        Append(hocon, "api-key-env", ApiKeyEnv);
        Append(hocon, "allow-unauthenticated", AllowUnauthenticated);
        if (RequestTimeout is { } timeout)
        {
            hocon.AppendLine($"  request-timeout = {Duration(timeout)}");
        }
        if (UnknownModels is { } policy)
        {
            hocon.AppendLine($"  unknown-models = {policy.ToString().ToLowerInvariant()}");
        }
        if (Cluster is { } cluster)
        {
            hocon.AppendLine("  cluster {");
            hocon.AppendLine($"  enabled = {(cluster.Enabled ? "on" : "off")}");
            Append(hocon, "role", cluster.Role);
            Append(hocon, "number-of-shards", cluster.NumberOfShards);
            Append(hocon, "start-burst-fraction", cluster.StartBurstFraction);
            hocon.AppendLine("  }");
        }
        hocon.AppendLine("  defaults {");
        AppendModel(hocon, Defaults);
        hocon.AppendLine("  }");
        hocon.AppendLine("  models {");
        foreach (var (id, model) in Models)
        {
            hocon.AppendLine($"    {Quote(id)} {{");
            AppendModel(hocon, model);
            hocon.AppendLine("    }");
        }
        hocon.AppendLine("  }");
        hocon.AppendLine("}");
        var config = ConfigurationFactory.ParseString(hocon.ToString());
        if (!string.IsNullOrWhiteSpace(Hocon))
        {
            config = config.WithFallback(ConfigurationFactory.ParseString(Hocon));
        }
        return ConfigurationHocon is null ? config : config.WithFallback(ConfigurationFactory.ParseString(ConfigurationHocon));
    }

    private static void AppendModel(StringBuilder hocon, ModelOptions model)
    {
        if (model.AutoRequestsPerSecond == true)
        {
            hocon.AppendLine("  requests-per-second = auto");
        }
        else
        {
            Append(hocon, "requests-per-second", model.RequestsPerSecond);
        }
        if (model.AutoTokensPerMinute == true)
        {
            hocon.AppendLine("  tokens-per-minute = auto");
        }
        else
        {
            Append(hocon, "tokens-per-minute", model.TokensPerMinute);
        }
        Append(hocon, "tokens-burst", model.TokensBurst);
        Append(hocon, "max-burst", model.MaxBurst);
        Append(hocon, "min-burst", model.MinBurst);
        Append(hocon, "max-in-flight", model.MaxInFlight);
        Append(hocon, "queue-size", model.QueueSize);
        Append(hocon, "default-max-tokens", model.DefaultMaxTokens);
        Append(hocon, "retry.max-attempts", model.MaxAttempts);
        Append(hocon, "endpoint", model.Endpoint);
        Append(hocon, "api-key", model.ApiKey);
        Append(hocon, "api-key-env", model.ApiKeyEnv);
        Append(hocon, "allow-unauthenticated", model.AllowUnauthenticated);
    }

    private static void Append(StringBuilder hocon, string key, bool? value)
    {
        if (value is { } v)
        {
            hocon.AppendLine($"  {key} = {(v ? "on" : "off")}");
        }
    }

    private static void Append(StringBuilder hocon, string key, string? value)
    {
        if (value is not null)
        {
            hocon.AppendLine($"  {key} = {Quote(value)}");
        }
    }

    private static void Append(StringBuilder hocon, string key, double? value)
    {
        if (value is { } v)
        {
            hocon.AppendLine($"  {key} = {v.ToString("R", CultureInfo.InvariantCulture)}");
        }
    }

    // JSON string syntax is valid HOCON quoted-string syntax, escapes included.
    private static string Quote(string value) => JsonSerializer.Serialize(value);

    private static string Duration(TimeSpan value) => $"{(long)Math.Ceiling(value.TotalMilliseconds)}ms";
}

/// <summary><c>actor-throttle.cluster</c> in code; null properties keep HOCON's values.</summary>
public sealed class ActorThrottleClusterOptions
{
    /// <summary><c>cluster.enabled</c>: each model's throttle is a Cluster Sharding entity (one per cluster).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary><c>cluster.role</c>: only nodes with this role host the throttles; empty: every node.</summary>
    public string? Role { get; set; }

    /// <summary><c>cluster.number-of-shards</c>; the same on every node.</summary>
    public int? NumberOfShards { get; set; }

    /// <summary><c>cluster.start-burst-fraction</c>: the share of max-burst a model starts with after a move.</summary>
    public double? StartBurstFraction { get; set; }
}
