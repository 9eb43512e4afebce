using ActorThrottle.Configuration;
using Xunit;

namespace ActorThrottle.Tests.Configuration;

public sealed class DeploymentConfigurationTests
{
    private const string TwoDeployments = """
        actor-throttle {
          endpoint = "https://api.cometapi.com/v1"
          defaults { max-in-flight = 7 }
          models {
            "gpt-4o-mini" {
              max-burst = 4
              fallbacks = ["gpt-4.1"]
              deployments = [
                { name = east, endpoint = "https://east.example.com/v1", api-key = "sk-east", requests-per-second = 20 },
                { endpoint = "https://api.openai.com/v1", requests-per-second = auto, provider-model = "gpt-4o-mini-2024-07-18", weight = 2, priority = 1 }
              ]
            }
            "gpt-4.1" { allow-unauthenticated = on, endpoint = "http://127.0.0.1:1/v1" }
          }
        }
        """;

    [Fact]
    public void Each_deployment_is_its_block_merged_over_the_model_and_the_defaults()
    {
        var settings = TestConfig.Parse(TwoDeployments, TestConfig.Environment(("OPENAI_API_KEY", "sk-openai")));
        var model = settings.ForModel("gpt-4o-mini")!;

        Assert.Equal(2, model.Deployments.Count);
        var east = model.Deployments[0];
        Assert.Equal(("east", 0, 1.0, 0), (east.Name, east.Index, east.Weight, east.Priority));
        Assert.Equal("gpt-4o-mini@east", east.Settings.ModelId);
        Assert.Equal("gpt-4o-mini", east.Settings.ProviderModel);   // the provider is asked for the model, not the deployment
        Assert.Equal(new Uri("https://east.example.com/v1"), east.Settings.Route.Endpoint);
        Assert.Equal("sk-east", east.Settings.Route.ApiKey!.Reveal());
        Assert.Equal(20, east.Settings.RequestsPerSecond);
        Assert.False(east.Settings.AutoRate);
        Assert.Equal(4, east.Settings.MaxBurst);                   // the model's block
        Assert.Equal(7, east.Settings.MaxInFlight);                // the defaults
        Assert.Empty(east.Settings.Fallbacks);                     // fallbacks belong to the model, after every deployment

        var second = model.Deployments[1];
        Assert.Equal(("1", 1, 2.0, 1), (second.Name, second.Index, second.Weight, second.Priority));
        Assert.True(second.Settings.AutoRate);
        Assert.Equal("gpt-4o-mini-2024-07-18", second.Settings.ProviderModel);
        Assert.Equal("sk-openai", second.Settings.Route.ApiKey!.Reveal());   // OPENAI_API_KEY goes to api.openai.com only
        Assert.Equal(["gpt-4.1"], model.Fallbacks);
        Assert.Empty(settings.UnknownKeys);
        Assert.DoesNotContain(settings.StartupFindings, f => f.IsError);
    }

    [Fact]
    public void A_model_level_key_is_not_sent_to_a_deployment_on_another_host()
    {
        var settings = TestConfig.Parse("""
            actor-throttle.models."m" {
              endpoint = "https://a.example.com/v1", api-key = "sk-a"
              deployments = [ {}, { endpoint = "https://b.example.com/v1" } ]
            }
            """);
        var model = settings.ForModel("m")!;

        Assert.Equal("sk-a", model.Deployments[0].Settings.Route.ApiKey!.Reveal());  // same endpoint as the model's key
        Assert.Null(model.Deployments[1].Settings.Route.ApiKey);
        var error = Assert.Single(settings.StartupFindings, f => f.IsError);
        Assert.Equal("actor-throttle.models.\"m\".deployments[1].api-key", error.Path);
    }

    [Theory]
    [InlineData("deployments = []", "actor-throttle.models.\"m\".deployments")]
    [InlineData("deployments = 3", "actor-throttle.models.\"m\".deployments")]
    [InlineData("deployments = [ 3 ]", "actor-throttle.models.\"m\".deployments[0]")]
    [InlineData("deployments = [ {}, { requests-per-second = -1 } ]", "actor-throttle.models.\"m\".deployments[1].requests-per-second")]
    [InlineData("deployments = [ { endpoint = \"not a url\" } ]", "actor-throttle.models.\"m\".deployments[0].endpoint")]
    [InlineData("deployments = [ { weight = 0 } ]", "actor-throttle.models.\"m\".deployments[0].weight")]
    [InlineData("deployments = [ { priority = -1 } ]", "actor-throttle.models.\"m\".deployments[0].priority")]
    [InlineData("deployments = [ { name = a }, { name = a } ]", "actor-throttle.models.\"m\".deployments[1].name")]
    [InlineData("deployments = [ { fallbacks = [x] } ]", "actor-throttle.models.\"m\".deployments[0].fallbacks")]
    [InlineData("deployments = [ { queue-size = 3 } ]", "actor-throttle.models.\"m\".deployments[0].queue-size")]
    [InlineData("deployments = [ { min-burst = 99 } ]", "actor-throttle.models.\"m\".deployments[0].min-burst")]
    [InlineData("deployments = [ { api-key = \"k\", api-key-env = K } ]", "actor-throttle.models.\"m\".deployments[0].api-key-env")]
    [InlineData("deployments = [ { deployment-cool-down.failures-in-a-row = 0 } ]", "actor-throttle.models.\"m\".deployments[0].deployment-cool-down.failures-in-a-row")]
    [InlineData("deployments = [ {} ], deployment-cool-down.rate-limited-in-a-row = 0", "actor-throttle.models.\"m\".deployment-cool-down.rate-limited-in-a-row")]
    [InlineData("deployments = [ {} ], deployment-cool-down.first = 0s", "actor-throttle.models.\"m\".deployment-cool-down.first")]
    [InlineData("deployments = [ {} ], deployment-cool-down.first = 2", "actor-throttle.models.\"m\".deployment-cool-down.first")]
    [InlineData("deployments = [ {} ], deployment-cool-down.first = 90s", "actor-throttle.models.\"m\".deployment-cool-down.first")]
    [InlineData("deployments = [ {} ], deployment-cool-down.max = 1s", "actor-throttle.models.\"m\".deployment-cool-down.max")]
    [InlineData("deployments = [ {} ], deployment-cool-down { first = 5s, max = 4s }", "actor-throttle.models.\"m\".deployment-cool-down.max")]
    public void A_bad_deployment_fails_naming_its_HOCON_path(string line, string path)
    {
        var error = TestConfig.ParseFails($$"""
            actor-throttle.models."m" {
              endpoint = "http://127.0.0.1:9/v1", allow-unauthenticated = on
              {{line}}
            }
            """);

        Assert.Equal(path, error.Path);
    }

    [Fact]
    public void An_unknown_key_in_a_deployment_is_reported_with_its_path()
    {
        var settings = TestConfig.Parse("""
            actor-throttle.models."m" {
              endpoint = "http://127.0.0.1:9/v1", allow-unauthenticated = on
              deployments = [ { max_burst = 3 } ]
            }
            """);

        Assert.Equal(["actor-throttle.models.\"m\".deployments[0].max_burst"], settings.UnknownKeys);
    }

    [Fact]
    public void Cool_down_thresholds_are_read_from_defaults_the_model_and_each_deployment()
    {
        var settings = TestConfig.Parse("""
            actor-throttle {
              defaults.deployment-cool-down { failures-in-a-row = 4, max = 30s }
              models."m" {
                endpoint = "http://127.0.0.1:9/v1", allow-unauthenticated = on
                deployment-cool-down.rate-limited-in-a-row = 12
                deployments = [ { name = a }, { name = b, deployment-cool-down { failures-in-a-row = 1, first = 500ms } } ]
              }
            }
            """);

        Assert.Equal(new DeploymentCoolDownSettings(4, 30, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30)), settings.Defaults.DeploymentCoolDown);
        var deployments = settings.ForModel("m")!.Deployments;
        Assert.Equal(new DeploymentCoolDownSettings(4, 12, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30)), deployments[0].Settings.DeploymentCoolDown);
        Assert.Equal(new DeploymentCoolDownSettings(1, 12, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(30)), deployments[1].Settings.DeploymentCoolDown);
        Assert.Empty(settings.UnknownKeys);
    }

    [Fact]
    public void The_reference_cool_down_is_the_documented_default()
    {
        Assert.Equal(DeploymentCoolDownSettings.Default, TestConfig.Parse("actor-throttle {}").Defaults.DeploymentCoolDown);
    }

    [Fact]
    public void A_model_without_deployments_has_none()
    {
        Assert.Empty(TestConfig.Parse(TwoDeployments, TestConfig.Environment(("OPENAI_API_KEY", "k"))).ForModel("gpt-4.1")!.Deployments);
    }

    [Fact]
    public void The_example_of_reference_conf_parses_with_one_deployment_per_line()
    {
        // The deployments example as reference.conf shows it (the comment block that lists deployments).
        var lines = TestConfig.ReferenceText().Split('\n');
        var list = Array.FindIndex(lines, l => l.TrimStart().StartsWith("#       deployments = [", StringComparison.Ordinal));
        Assert.True(list > 0);
        var start = Array.FindLastIndex(lines, list, l => l.TrimStart().StartsWith("#   models {", StringComparison.Ordinal));
        var example = string.Join('\n', lines.Skip(start).TakeWhile(l => l.TrimStart().StartsWith('#')).Select(l => l.TrimStart().TrimStart('#')));

        var settings = TestConfig.Parse($"actor-throttle {{ {example} }}",
            TestConfig.Environment(("OPENAI_API_KEY", "o"), ("AZURE_EU_KEY", "a"), ("COMETAPI_KEY", "c")));

        var deployments = settings.ForModel("gpt-4o-mini")!.Deployments;
        Assert.Equal(["openai", "azure-eu", "spare"], deployments.Select(d => d.Name));
        Assert.Equal(["o", "a", "c"], deployments.Select(d => d.Settings.Route.ApiKey!.Reveal()));
        Assert.Equal([0, 0, 1], deployments.Select(d => d.Priority));
        Assert.All(deployments, d => Assert.Equal(new DeploymentCoolDownSettings(5, 30, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(60)), d.Settings.DeploymentCoolDown));
        Assert.DoesNotContain(settings.StartupFindings, f => f.IsError);
        Assert.Empty(settings.UnknownKeys);
    }
}
