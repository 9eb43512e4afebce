using ActorThrottle.Configuration;
using Xunit;

namespace ActorThrottle.Tests.Configuration;

/// <summary>HOCON substitutions, as DESIGN.md's own sample uses them (<c>api-key = ${?OPENAI_API_KEY}</c>).</summary>
public sealed class SubstitutionTests
{
    [Fact]
    public void An_unset_optional_substitution_leaves_the_key_to_the_environment_fallback()
    {
        var settings = ActorThrottleSettings.Parse("actor-throttle.api-key = ${?ACTOR_THROTTLE_TEST_SURELY_UNSET_9F2}\n",
            name => name == "COMETAPI_KEY" ? "from-environment-123" : null);
        Assert.Equal("from-environment-123", settings.ApiKey!.Reveal());
    }

    [Fact]
    public void An_unset_optional_substitution_in_a_model_block_falls_back_to_the_global_key()
    {
        var settings = ActorThrottleSettings.Parse("""
            actor-throttle {
              api-key = "global-key-123456"
              models {
                "gpt-4.1" {
                  api-key = ${?ACTOR_THROTTLE_TEST_SURELY_UNSET_9F2}
                  requests-per-second = 3
                }
              }
            }
            """, _ => null);
        var model = settings.ForModel("gpt-4.1")!;
        Assert.Equal(3, model.RequestsPerSecond);
        Assert.Equal("global-key-123456", model.Route.ApiKey!.Reveal());
    }

    [Fact]
    public void A_substitution_of_another_path_is_resolved()
    {
        var settings = ActorThrottleSettings.Parse("""
            shared-rate = 12
            actor-throttle.defaults.requests-per-second = ${shared-rate}
            """, _ => null);
        Assert.Equal(12, settings.Defaults.RequestsPerSecond);
    }

    [Fact]
    public void An_unset_optional_endpoint_keeps_the_reference_default()
    {
        var settings = ActorThrottleSettings.Parse("actor-throttle.endpoint = ${?ACTOR_THROTTLE_TEST_SURELY_UNSET_9F2}, actor-throttle.models.m.max-burst = 4", _ => null);
        Assert.Equal(new Uri("https://api.cometapi.com/v1"), settings.Endpoint);
        Assert.Equal(4, settings.ForModel("m")!.MaxBurst);
    }

    [Fact]
    public void Set_variables_come_from_the_injected_environment_quoted()
    {
        var settings = ActorThrottleSettings.Parse("""
            actor-throttle {
              models { "gpt-4.1" { endpoint = "https://api.openai.com/v1", api-key = ${?MY_OPENAI_KEY} } }
            }
            """, name => name == "MY_OPENAI_KEY" ? "sk-with \"quote\" 1234" : null);
        Assert.Equal("sk-with \"quote\" 1234", settings.ForModel("gpt-4.1")!.Route.ApiKey!.Reveal());
    }

    [Fact]
    public void An_unset_required_variable_names_the_key_and_the_variable_but_no_value()
    {
        var error = Assert.Throws<ActorThrottleConfigurationException>(() =>
            ActorThrottleSettings.Parse("actor-throttle.api-key = ${MISSING_KEY_VAR}", _ => null));
        Assert.Contains("MISSING_KEY_VAR", error.Message);
        Assert.Contains("api-key", error.Path);
    }

    [Fact]
    public void Through_FromConfig_an_unset_optional_string_counts_as_not_set()
    {
        var config = Akka.Configuration.ConfigurationFactory.ParseString("actor-throttle.api-key = ${?ACTOR_THROTTLE_TEST_SURELY_UNSET_9F2}");
        // Unset, the default endpoint's own variable (COMETAPI_KEY for api.cometapi.com) applies.
        var settings = ActorThrottleSettings.FromConfig(config, name => name == "COMETAPI_KEY" ? "env-key-12345678" : null);
        Assert.Equal("env-key-12345678", settings.ApiKey!.Reveal());
    }

    [Fact]
    public void An_unset_optional_substitution_for_a_number_keeps_the_default_or_names_the_path()
    {
        const string text = "actor-throttle.defaults.max-burst = ${?ACTOR_THROTTLE_TEST_SURELY_UNSET_9F2}\n";
        Assert.Equal(10, ActorThrottleSettings.Parse(text, _ => null).Defaults.MaxBurst);
        // A config Akka already parsed cannot be repaired: the error names the path.
        var error = Assert.Throws<ActorThrottleConfigurationException>(() =>
            ActorThrottleSettings.FromConfig(Akka.Configuration.ConfigurationFactory.ParseString(text), _ => null));
        Assert.Equal("actor-throttle.defaults.max-burst", error.Path);
    }

    [Fact]
    public void Expansion_quotes_set_variables_drops_unset_optional_assignments_and_leaves_paths_to_Akka()
    {
        var text = ActorThrottleSettings.ExpandEnvironment("a = ${?BETA_KEY}\nb = ${?MISSING}\nd = ${some.path}\n",
            name => name == "BETA_KEY" ? "sk-\"beta\"" : null);
        // JSON string syntax, which HOCON reads: the quotes come out as \u0022 escapes.
        Assert.Equal("a = \"sk-\\u0022beta\\u0022\"\n\nd = ${some.path}\n", text);
        Assert.Equal("sk-\"beta\"", Akka.Configuration.ConfigurationFactory.ParseString(text.Replace("${some.path}", "1")).GetString("a"));
    }
}
