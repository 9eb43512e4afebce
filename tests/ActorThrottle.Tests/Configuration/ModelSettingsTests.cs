using Xunit;
using ActorThrottle.Configuration;

namespace ActorThrottle.Tests.Configuration;

public sealed class ModelSettingsTests
{
    private const string ThreeModels = """
        actor-throttle {
          defaults { max-in-flight = 3, retry { max-attempts = 4 } }
          models {
            gpt-4o-mini { requests-per-second = 50, max-burst = 20 }
            "gpt-4.1" { endpoint = "https://api.openai.com/v1", adapt { pause-on-retry-after = model } }
            "meta-llama/Llama-3.1-8B:free" { requests-per-second = 1, min-rate = 0.05, request-timeout = 500ms }
          }
        }
        """;

    [Fact]
    public void A_model_block_is_merged_over_the_defaults_key_by_key()
    {
        var settings = TestConfig.Parse(ThreeModels);
        var mini = settings.ForModel("gpt-4o-mini")!;

        Assert.Equal("gpt-4o-mini", mini.ModelId);
        Assert.Equal(50, mini.RequestsPerSecond);
        Assert.Equal(20, mini.MaxBurst);
        Assert.Equal(3, mini.MaxInFlight);             // user's defaults
        Assert.Equal(4, mini.Retry.MaxAttempts);        // user's defaults, nested
        Assert.Equal(TimeSpan.FromSeconds(1), mini.Retry.BaseDelay); // reference, nested next to an override
        Assert.Equal(1, mini.MinBurst);                  // reference
        Assert.Same(mini, settings.ConfiguredModels["gpt-4o-mini"]);
    }

    [Fact]
    public void A_model_id_with_dots_is_read_from_its_quoted_key()
    {
        var model = TestConfig.Parse(ThreeModels).ForModel("gpt-4.1")!;

        Assert.Equal("gpt-4.1", model.ModelId);
        Assert.Equal(new Uri("https://api.openai.com/v1"), model.Route.Endpoint);
        Assert.Equal(RetryAfterScope.Model, model.Adapt.PauseOnRetryAfter);
        Assert.Equal(0.5, model.Adapt.DecreaseFactor); // the rest of adapt from defaults
        Assert.Equal(5, model.RequestsPerSecond);
    }

    [Fact]
    public void A_model_id_with_slashes_and_colons_is_read_from_its_quoted_key()
    {
        var settings = TestConfig.Parse(ThreeModels);
        var llama = settings.ForModel("meta-llama/Llama-3.1-8B:free")!;

        Assert.Equal("meta-llama/Llama-3.1-8B:free", llama.ModelId);
        Assert.Equal(1, llama.RequestsPerSecond);
        Assert.Equal(0.05, llama.MinRate);
        Assert.Equal(TimeSpan.FromMilliseconds(500), llama.RequestTimeout); // the model's own request-timeout
        Assert.Equal(TimeSpan.FromSeconds(60), settings.ForModel("gpt-4.1")!.RequestTimeout);
        Assert.Equal(3, settings.ConfiguredModels.Count);
        Assert.Empty(settings.UnknownKeys);
    }

    [Fact]
    public void Lookups_are_exact_so_a_prefix_or_other_case_of_a_configured_id_is_an_unknown_model()
    {
        var settings = TestConfig.Parse(ThreeModels + "\nactor-throttle.unknown-models = reject");
        Assert.Null(settings.ForModel("gpt-4"));
        Assert.Null(settings.ForModel("GPT-4.1"));
        Assert.Null(settings.ForModel("meta-llama"));
        Assert.NotNull(settings.ForModel("gpt-4.1"));
    }

    [Fact]
    public void An_unknown_model_gets_the_defaults_with_its_own_id_when_the_policy_is_create()
    {
        var settings = TestConfig.Parse("actor-throttle { unknown-models = create, defaults { max-burst = 7 } }");
        var model = settings.ForModel("mistral-large")!;

        Assert.Equal(UnknownModelPolicy.Create, settings.UnknownModels);
        Assert.Equal("mistral-large", model.ModelId);
        Assert.Equal(settings.Defaults with { ModelId = "mistral-large" }, model);
        Assert.Equal(7, model.MaxBurst);
        Assert.False(settings.ConfiguredModels.ContainsKey("mistral-large"));
    }

    [Fact]
    public void An_unknown_model_gets_null_when_the_policy_is_reject()
    {
        var settings = TestConfig.Parse(ThreeModels + "\nactor-throttle.unknown-models = reject");
        Assert.Equal(UnknownModelPolicy.Reject, settings.UnknownModels);
        Assert.Null(settings.ForModel("mistral-large"));
        Assert.NotNull(settings.ForModel("gpt-4o-mini"));
    }

    [Theory]
    [InlineData("Reject")]
    [InlineData("REJECT")]
    [InlineData("\" reject \"")]
    public void Policy_names_are_read_without_regard_to_case_or_surrounding_spaces(string value)
    {
        Assert.Equal(UnknownModelPolicy.Reject, TestConfig.Parse($"actor-throttle.unknown-models = {value}").UnknownModels);
    }

    [Fact]
    public void A_models_own_endpoint_and_key_beat_the_global_ones_which_beat_the_environment()
    {
        var environment = TestConfig.Environment(("COMETAPI_KEY", "env-comet"), ("OPENAI_API_KEY", "env-openai"));
        var settings = TestConfig.Parse("""
            actor-throttle {
              endpoint = "https://global.example/v1"
              api-key = "global-key"
              models {
                own { endpoint = "http://localhost:8080/v1", api-key = "own-key" }
                "only.key" { api-key = "own-key-2" }
                plain { max-burst = 2 }
              }
            }
            """, environment);

        Assert.Equal(new ModelRoute(new Uri("http://localhost:8080/v1"), new ApiKey("own-key")), settings.ForModel("own")!.Route);
        Assert.Equal(new ModelRoute(new Uri("https://global.example/v1"), new ApiKey("own-key-2")), settings.ForModel("only.key")!.Route);
        Assert.Equal(new ModelRoute(new Uri("https://global.example/v1"), new ApiKey("global-key")), settings.ForModel("plain")!.Route);
        Assert.Equal(new ModelRoute(new Uri("https://global.example/v1"), new ApiKey("global-key")), settings.ForModel("never-configured")!.Route);
        Assert.Equal(new ApiKey("global-key"), settings.ApiKey);
    }

    [Fact]
    public void Without_a_configured_key_each_well_known_variable_goes_only_to_its_own_host()
    {
        var both = TestConfig.Environment(("COMETAPI_KEY", "env-comet"), ("OPENAI_API_KEY", "env-openai"));
        Assert.Equal(new ApiKey("env-comet"), TestConfig.Parse("", both).ApiKey);
        Assert.Equal(new ApiKey("env-comet"), TestConfig.Parse("", both).Defaults.Route.ApiKey);
        Assert.Equal(new ApiKey("env-openai"), TestConfig.Parse("actor-throttle.endpoint = \"https://api.openai.com/v1\"", both).ApiKey);

        // OPENAI_API_KEY alone and the default endpoint (CometAPI): no key, never the OpenAI one.
        var openAiOnly = TestConfig.Environment(("OPENAI_API_KEY", "env-openai"));
        Assert.Null(TestConfig.Parse("", openAiOnly).ApiKey);
        Assert.Null(TestConfig.Parse("", openAiOnly).ForModel("x")!.Route.ApiKey);

        var blankComet = TestConfig.Environment(("COMETAPI_KEY", "   "), ("OPENAI_API_KEY", " env-openai "));
        Assert.Null(TestConfig.Parse("", blankComet).ApiKey); // blank is unset
        Assert.Equal(new ApiKey("env-openai"), TestConfig.Parse("actor-throttle.endpoint = \"https://api.openai.com/v1\"", blankComet).ApiKey); // trimmed

        Assert.Null(TestConfig.Parse("").ApiKey);
        Assert.Null(TestConfig.Parse("").ForModel("x")!.Route.ApiKey);
    }

    [Fact]
    public void The_environment_is_asked_only_for_well_known_variables_and_the_one_api_key_env_names_and_not_at_all_when_a_key_is_configured()
    {
        var asked = new List<string>();
        string? Spy(string name)
        {
            asked.Add(name);
            return name == "MY_KEY" ? "my-key" : null;
        }

        // Keyless, the start-up finding also looks whether the other well-known variable is set, to say it is bound elsewhere.
        TestConfig.Parse("", Spy);
        Assert.Subset(new HashSet<string> { "COMETAPI_KEY", "OPENAI_API_KEY" }, asked.ToHashSet());
        Assert.Equal("COMETAPI_KEY", asked[0]);

        asked.Clear();
        TestConfig.Parse("actor-throttle.endpoint = \"https://api.openai.com/v1\"", Spy);
        Assert.Equal("OPENAI_API_KEY", asked[0]);

        asked.Clear();
        TestConfig.Parse("actor-throttle { endpoint = \"http://127.0.0.1:8000/v1\", api-key-env = MY_KEY }", Spy);
        Assert.Equal(["MY_KEY"], asked.Distinct());

        asked.Clear();
        TestConfig.Parse("actor-throttle.api-key = configured", Spy);
        Assert.Empty(asked);
    }

    [Fact]
    public void A_blank_model_key_or_endpoint_falls_back_to_the_global_one()
    {
        var settings = TestConfig.Parse("""
            actor-throttle { api-key = g, models { m { endpoint = "  ", api-key = "" } } }
            """);
        Assert.Equal(new ModelRoute(new Uri("https://api.cometapi.com/v1"), new ApiKey("g")), settings.ForModel("m")!.Route);
    }

    [Fact]
    public void A_key_or_endpoint_set_in_defaults_applies_to_every_model_without_its_own()
    {
        var settings = TestConfig.Parse("""
            actor-throttle {
              defaults { endpoint = "http://127.0.0.1:5000/v1", api-key = "defaults-key" }
              models { a { max-burst = 2 } }
            }
            """, TestConfig.Environment(("COMETAPI_KEY", "env")));
        Assert.Equal(new ModelRoute(new Uri("http://127.0.0.1:5000/v1"), new ApiKey("defaults-key")), settings.ForModel("a")!.Route);
        Assert.Equal(new ModelRoute(new Uri("http://127.0.0.1:5000/v1"), new ApiKey("defaults-key")), settings.ForModel("b")!.Route);
    }

    [Fact]
    public void The_route_display_never_shows_query_or_user_info()
    {
        var route = new ModelRoute(new Uri("https://user:pw@example.com/v1?key=abc"), null);
        Assert.Equal("https://example.com/v1", route.Display);
        Assert.Equal("http://127.0.0.1:8080/v1", new ModelRoute(new Uri("http://127.0.0.1:8080/v1"), null).Display);
    }

    [Fact]
    public void Keys_the_settings_do_not_read_are_listed_as_unknown()
    {
        var settings = TestConfig.Parse("""
            actor-throttle {
              endpont = "https://typo.example/v1"
              defaults { max_burst = 3, retry { max-atempts = 2 } }
              models {
                "gpt-4.1" { requests-per-minute = 10 }
                ok { retry { } }
              }
            }
            """);
        Assert.Equal(
            ["actor-throttle.defaults.max_burst", "actor-throttle.defaults.retry.max-atempts", "actor-throttle.endpont", "actor-throttle.models.\"gpt-4.1\".requests-per-minute"],
            settings.UnknownKeys.Order(StringComparer.Ordinal));
    }
}
