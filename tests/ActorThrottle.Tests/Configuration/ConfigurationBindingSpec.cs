using System.Text;
using ActorThrottle.Configuration;
using ActorThrottle.Hosting;
using ActorThrottle.Tests.Configuration;
using Akka.Configuration;
using Akka.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace ActorThrottle.Tests.Configuration;

/// <summary>
/// <c>WithActorThrottle(IConfigurationSection)</c>: appsettings-shaped JSON binds every key of the reference configuration
/// into the same settings as the HOCON with the same values, and a bad value names both paths.
/// </summary>
public sealed class ConfigurationBindingSpec
{
    // Every key of hocon/reference.conf, each at a value that differs from the reference, in the README's JSON form.
    private const string Json = """
        {
          "ActorThrottle": {
            "Endpoint": "https://llm.example.com/v1",
            "ApiKey": "sk-json-1",
            "ApiKeyEnv": "",
            "AllowUnauthenticated": true,
            "RequestTimeout": "00:00:45",
            "UnknownModels": "reject",
            "ShutdownGrace": "7s",
            "Cluster": { "Enabled": false, "Role": "throttle", "NumberOfShards": 16, "StartBurstFraction": 0.25 },
            "Defaults": {
              "RequestsPerSecond": 12.5,
              "TokensPerMinute": 90000,
              "TokensBurst": 3000,
              "TokenAccounting": "reconcile",
              "DefaultMaxTokens": 512,
              "MaxContextTokens": 64000,
              "MaxBurst": 8,
              "MinBurst": 2,
              "MinRate": 0.5,
              "MaxInFlight": 32,
              "QueueSize": 500,
              "BatchShare": 0.2,
              "Fallbacks": [ "gpt-4.1" ],
              "ProviderModel": "",
              "StreamUsage": false,
              "Endpoint": "",
              "ApiKey": "",
              "ApiKeyEnv": "",
              "AllowUnauthenticated": true,
              "RequestTimeout": "30s",
              "Retry": {
                "MaxAttempts": 3, "BaseDelay": "500ms", "MaxDelay": "00:00:20", "MaxRetryAfter": "90s",
                "Budget": 0.3, "BudgetWindow": "5s", "BudgetMinPerSecond": 2
              },
              "Adapt": {
                "DecreaseFactor": 0.7, "IncreaseStep": 2, "IncreaseAfter": 10, "CoolDown": "00:00:00.5",
                "SettleFraction": 0.9, "PauseOnRetryAfter": "model", "AutoStartRate": 4
              },
              "DeploymentCoolDown": { "FailuresInARow": 4, "RateLimitedInARow": 12, "First": "00:00:01.5", "Max": "45s" }
            },
            "Models": {
              "gpt-4.1": { "Endpoint": "https://api.openai.com/v1", "ApiKey": "sk-json-2", "RequestsPerSecond": 3, "Fallbacks": [] },
              "gpt-4o-mini": { "MaxBurst": 20, "RequestTimeout": "2m", "ProviderModel": "gpt-4o-mini-2024-07-18" },
              "gpt-4.1-nano": { "Fallbacks": [ "gpt-4.1", "gpt-4o-mini" ] }
            }
          }
        }
        """;

    private const string Hocon = """
        actor-throttle {
          endpoint = "https://llm.example.com/v1"
          api-key = "sk-json-1"
          api-key-env = ""
          allow-unauthenticated = on
          request-timeout = 45s
          unknown-models = reject
          shutdown-grace = 7s
          cluster { enabled = off, role = throttle, number-of-shards = 16, start-burst-fraction = 0.25 }
          defaults {
            requests-per-second = 12.5
            tokens-per-minute = 90000
            tokens-burst = 3000
            token-accounting = reconcile
            default-max-tokens = 512
            max-context-tokens = 64000
            max-burst = 8
            min-burst = 2
            min-rate = 0.5
            max-in-flight = 32
            queue-size = 500
            batch-share = 0.2
            fallbacks = ["gpt-4.1"]
            provider-model = ""
            stream-usage = off
            endpoint = ""
            api-key = ""
            api-key-env = ""
            allow-unauthenticated = on
            request-timeout = 30s
            retry { max-attempts = 3, base-delay = 500ms, max-delay = 20s, max-retry-after = 90s, budget = 0.3, budget-window = 5s, budget-min-per-second = 2 }
            adapt { decrease-factor = 0.7, increase-step = 2, increase-after = 10, cool-down = 500ms, settle-fraction = 0.9, pause-on-retry-after = model, auto-start-rate = 4 }
            deployment-cool-down { failures-in-a-row = 4, rate-limited-in-a-row = 12, first = 1500ms, max = 45s }
          }
          models {
            "gpt-4.1" { endpoint = "https://api.openai.com/v1", api-key = "sk-json-2", requests-per-second = 3, fallbacks = [] }
            "gpt-4o-mini" { max-burst = 20, request-timeout = 2m, provider-model = "gpt-4o-mini-2024-07-18" }
            "gpt-4.1-nano" { fallbacks = ["gpt-4.1", "gpt-4o-mini"] }
          }
        }
        """;

    private static IConfigurationSection Section(string json) =>
        new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build().GetSection("ActorThrottle");

    private static ActorThrottleSettings FromSection(IConfigurationSection section) =>
        ActorThrottleSettings.FromConfig(ActorThrottleOptions.FromConfiguration(section).ToConfig(), _ => null);

    private static void AssertSameModel(ModelSettings expected, ModelSettings actual)
    {
        Assert.Equal(expected.Fallbacks, actual.Fallbacks);
        Assert.Equal(expected with { Fallbacks = [] }, actual with { Fallbacks = [] });
    }

    [Fact]
    public void Appsettings_json_gives_the_same_settings_as_the_same_values_in_hocon()
    {
        var json = FromSection(Section(Json));
        var hocon = ActorThrottleSettings.FromConfig(ConfigurationFactory.ParseString(Hocon), _ => null);

        Assert.Equal(hocon.Endpoint, json.Endpoint);
        Assert.Equal(hocon.ApiKey, json.ApiKey);
        Assert.Equal(TimeSpan.FromSeconds(45), json.RequestTimeout);
        Assert.Equal(hocon.RequestTimeout, json.RequestTimeout);
        Assert.Equal(hocon.UnknownModels, json.UnknownModels);
        Assert.Equal(hocon.ShutdownGrace, json.ShutdownGrace);
        Assert.Equal(hocon.Cluster, json.Cluster);
        AssertSameModel(hocon.Defaults, json.Defaults);
        Assert.Equal(hocon.ConfiguredModels.Keys.Order(), json.ConfiguredModels.Keys.Order());
        foreach (var id in hocon.ConfiguredModels.Keys)
        {
            AssertSameModel(hocon.ConfiguredModels[id], json.ConfiguredModels[id]);
        }
        Assert.Empty(json.UnknownKeys);
        // Not the reference's values: the binding really carried them.
        Assert.Equal(0.7, json.Defaults.Adapt.DecreaseFactor);
        Assert.Equal(new DeploymentCoolDownSettings(4, 12, TimeSpan.FromMilliseconds(1500), TimeSpan.FromSeconds(45)), json.Defaults.DeploymentCoolDown);
        Assert.Equal(TimeSpan.FromMinutes(2), json.ConfiguredModels["gpt-4o-mini"].RequestTimeout);
        Assert.Empty(json.ConfiguredModels["gpt-4.1"].Fallbacks);
        Assert.Equal(["gpt-4.1", "gpt-4o-mini"], json.ConfiguredModels["gpt-4.1-nano"].Fallbacks);
    }

    [Fact]
    public void The_readmes_side_by_side_example_gives_the_same_settings_in_both_syntaxes()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md"));
        var start = readme.IndexOf("### The same keys from `appsettings.json`", StringComparison.Ordinal);
        Assert.True(start >= 0, "README section not found");
        var hoconText = Block(readme, "```hocon\n", start);
        var jsonText = "{" + Block(readme, "```json\n", start) + "}";
        var json = FromSection(Section(jsonText));
        var hocon = ActorThrottleSettings.FromConfig(ConfigurationFactory.ParseString(hoconText), _ => null);
        Assert.Equal(hocon.Endpoint, json.Endpoint);
        Assert.Equal(hocon.RequestTimeout, json.RequestTimeout);
        AssertSameModel(hocon.Defaults, json.Defaults);
        AssertSameModel(hocon.ConfiguredModels["gpt-4.1"], json.ConfiguredModels["gpt-4.1"]);
        Assert.Equal(["gpt-4o-mini"], json.ConfiguredModels["gpt-4.1"].Fallbacks);
    }

    private static string Block(string text, string fence, int from)
    {
        var start = text.IndexOf(fence, from, StringComparison.Ordinal) + fence.Length;
        return text[start..text.IndexOf("```", start, StringComparison.Ordinal)];
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ActorThrottle.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("ActorThrottle.sln not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void The_json_sets_every_key_the_settings_read()
    {
        var (_, paths) = ActorThrottleConfigurationBinder.ToHocon(Section(Json));
        var bound = paths.Values
            .Where(p => !p.StartsWith("ActorThrottle:Models:", StringComparison.Ordinal))
            .Select(p => "actor-throttle." + string.Join('.', p.Split(':').Skip(1).Select(ActorThrottleConfigurationBinder.ToKebab)))
            .ToHashSet(StringComparer.Ordinal);
        var known = ActorThrottleSettings.KnownKeys.Where(k => k != "actor-throttle.models").ToHashSet(StringComparer.Ordinal);
        Assert.Empty(known.Except(bound));
        Assert.Empty(bound.Except(known));
    }

    [Theory]
    [InlineData("MaxInFlight", "max-in-flight")]
    [InlineData("RequestsPerSecond", "requests-per-second")]
    [InlineData("BudgetMinPerSecond", "budget-min-per-second")]
    [InlineData("ApiKey", "api-key")]
    [InlineData("requestsPerSecond", "requests-per-second")]
    [InlineData("max-in-flight", "max-in-flight")]
    [InlineData("HTTPTimeout", "http-timeout")]
    public void Pascal_and_camel_keys_become_the_reference_kebab_keys(string key, string kebab) =>
        Assert.Equal(kebab, ActorThrottleConfigurationBinder.ToKebab(key));

    [Fact]
    public void Environment_variable_style_keys_and_kebab_keys_bind_the_same_values()
    {
        var section = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ActorThrottle:Defaults:Retry:MaxAttempts"] = "2",
            ["ActorThrottle:defaults:adapt:cool-down"] = "1s",
            ["ActorThrottle:Models:meta-llama/Llama-3.1-8B:MinRate"] = "0.05",
            ["ActorThrottle:Models:meta-llama/Llama-3.1-8B:RequestsPerSecond"] = "1",
            ["ActorThrottle:Models:plain-model"] = null,
        }).Build().GetSection("ActorThrottle");
        var settings = FromSection(section);
        Assert.Equal(2, settings.Defaults.Retry.MaxAttempts);
        Assert.Equal(TimeSpan.FromSeconds(1), settings.Defaults.Adapt.CoolDown);
        Assert.Equal(0.05, settings.ConfiguredModels["meta-llama/Llama-3.1-8B"].MinRate);
        AssertSameModel(settings.Defaults with { ModelId = "plain-model" }, settings.ConfiguredModels["plain-model"]);
        Assert.Empty(settings.UnknownKeys);
    }

    [Theory]
    [InlineData("""{ "ActorThrottle": { "Defaults": { "Retry": { "MaxAttempts": 0 } } } }""",
        "ActorThrottle:Defaults:Retry:MaxAttempts", "actor-throttle.defaults.retry.max-attempts", "= 0: must be at least 1.")]
    [InlineData("""{ "ActorThrottle": { "Models": { "gpt-4.1": { "MaxBurst": 0 } } } }""",
        "ActorThrottle:Models:gpt-4.1:MaxBurst", "actor-throttle.models.\"gpt-4.1\".max-burst", "= 0: must be at least 1.")]
    [InlineData("""{ "ActorThrottle": { "RequestTimeout": "soon" } }""",
        "ActorThrottle:RequestTimeout", "actor-throttle.request-timeout", "\"soon\"")]
    public async Task A_bad_value_fails_the_hosts_start_naming_the_configuration_path_and_the_hocon_path(string json, string configurationPath, string hoconPath, string detail)
    {
        var section = Section(json);
        using var host = Host.CreateDefaultBuilder()
            .ConfigureServices(services => services.AddAkka("binding-spec", akka => akka.WithActorThrottle(section,
                o => o.Environment = new ThrottleEnvironment { Logger = new Serilog.LoggerConfiguration().CreateLogger() })))
            .Build();
        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());
        var configuration = Find(error);
        Assert.NotNull(configuration);
        Assert.Equal(hoconPath, configuration!.Path);
        Assert.Equal(configurationPath, configuration.ConfigurationPath);
        Assert.StartsWith($"Invalid configuration at '{configurationPath}' (HOCON '{hoconPath}')", configuration.Message);
        Assert.Contains(detail, configuration.Message);
    }

    [Fact]
    public void A_bad_value_inherited_from_the_reference_is_named_in_both_notations_too()
    {
        var error = new ActorThrottleConfigurationException("actor-throttle.models.\"gpt-4.1\".retry.max-attempts", "0", "must be at least 1.");
        var named = ActorThrottleConfigurationBinder.WithConfigurationPath(error, new Dictionary<string, string>(), "App:Throttle");
        Assert.Equal("App:Throttle:Models:gpt-4.1:Retry:MaxAttempts", named.ConfigurationPath);
        Assert.Equal("Invalid configuration at 'App:Throttle:Models:gpt-4.1:Retry:MaxAttempts' (HOCON 'actor-throttle.models.\"gpt-4.1\".retry.max-attempts') = 0: must be at least 1.", named.Message);
    }

    [Fact]
    public void Code_wins_over_the_section_which_wins_over_the_apps_hocon_and_the_reference()
    {
        var options = ActorThrottleOptions.FromConfiguration(Section("""{ "ActorThrottle": { "Defaults": { "MaxBurst": 7, "QueueSize": 77 } } }"""));
        options.Defaults.MaxBurst = 3;
        var appHocon = ConfigurationFactory.ParseString("actor-throttle.defaults { queue-size = 5, max-in-flight = 9 }");
        var settings = ActorThrottleSettings.FromConfig(options.ToConfig().WithFallback(appHocon), _ => null);
        Assert.Equal(3, settings.Defaults.MaxBurst);
        Assert.Equal(77, settings.Defaults.QueueSize);
        Assert.Equal(9, settings.Defaults.MaxInFlight);
    }

    [Fact]
    public void Deployments_bind_from_a_json_array_of_objects_and_a_bad_one_is_named_in_both_notations()
    {
        var settings = FromSection(Section("""
            { "ActorThrottle": { "Models": { "gpt-4o-mini": { "Deployments": [
              { "Name": "east", "Endpoint": "http://127.0.0.1:9/v1", "AllowUnauthenticated": true, "RequestsPerSecond": 20 },
              { "Endpoint": "http://127.0.0.1:8/v1", "AllowUnauthenticated": true, "RequestsPerSecond": "auto", "Priority": 1 }
            ] } } } }
            """));
        var deployments = settings.ForModel("gpt-4o-mini")!.Deployments;
        Assert.Equal(["east", "1"], deployments.Select(d => d.Name));
        Assert.Equal(20, deployments[0].Settings.RequestsPerSecond);
        Assert.True(deployments[1].Settings.AutoRate);
        Assert.Equal(1, deployments[1].Priority);

        var section = Section("""{ "ActorThrottle": { "Models": { "m": { "Deployments": [ { "AllowUnauthenticated": true }, { "Weight": 0 } ] } } } }""");
        var error = Find(Record.Exception(() => FromSection(section)));
        Assert.NotNull(error);
        Assert.Equal("actor-throttle.models.\"m\".deployments[1].weight", error!.Path);
        var (_, paths) = ActorThrottleConfigurationBinder.ToHocon(section);
        Assert.Equal("ActorThrottle:Models:m:Deployments:1:Weight", ActorThrottleConfigurationBinder.WithConfigurationPath(error, paths, "ActorThrottle").ConfigurationPath);
    }

    [Fact]
    public void The_deployment_cool_down_binds_from_the_section_and_a_bad_value_is_named_in_both_notations()
    {
        var settings = FromSection(Section("""
            { "ActorThrottle": { "Defaults": { "DeploymentCoolDown": { "FailuresInARow": 5, "RateLimitedInARow": 10, "First": "00:00:03", "Max": "90s" } },
              "Models": { "m": { "Deployments": [ { "Endpoint": "http://127.0.0.1:9/v1", "AllowUnauthenticated": true, "DeploymentCoolDown": { "FailuresInARow": 1 } } ] } } } }
            """));
        Assert.Equal(new DeploymentCoolDownSettings(5, 10, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(90)), settings.Defaults.DeploymentCoolDown);
        Assert.Equal(1, settings.ForModel("m")!.Deployments[0].Settings.DeploymentCoolDown.FailuresInARow);

        var section = Section("""{ "ActorThrottle": { "Defaults": { "DeploymentCoolDown": { "First": "2m", "Max": "1m" } } } }""");
        var error = Find(Record.Exception(() => FromSection(section)));
        Assert.NotNull(error);
        Assert.Equal("actor-throttle.defaults.deployment-cool-down.max", error!.Path);
        var (_, paths) = ActorThrottleConfigurationBinder.ToHocon(section);
        Assert.Equal("ActorThrottle:Defaults:DeploymentCoolDown:Max", ActorThrottleConfigurationBinder.WithConfigurationPath(error, paths, "ActorThrottle").ConfigurationPath);
    }

    private static ActorThrottleConfigurationException? Find(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is ActorThrottleConfigurationException found)
            {
                return found;
            }
            if (e is AggregateException aggregate && aggregate.InnerExceptions.Select(Find).FirstOrDefault(f => f is not null) is { } inner)
            {
                return inner;
            }
        }
        return null;
    }
}
