using ActorThrottle.Configuration;
using ActorThrottle.Tests.Engine;
using ActorThrottle.Messages;
using ActorThrottle.Routing;
using ActorThrottle.Tests.Support;
using Serilog;
using Xunit;

namespace ActorThrottle.Tests.Configuration;

/// <summary>
/// The start-up checks of docs/reliability.md ("Credentials and start-up checks"): a model without a key stops the
/// engine with the built-in backend; base URLs that are not OpenAI-compatible, plain-http keys and keyless servers are
/// warned about; an unknown model id close to a configured one is warned about once.
/// </summary>
public sealed class StartupChecksSpec : EngineSpecBase
{
    private static IReadOnlyList<ConfigurationFinding> Findings(string hocon, params (string, string)[] environment) =>
        ActorThrottleSettings.Parse(hocon, TestConfig.Environment(environment)).StartupFindings;

    [Fact]
    public void The_engine_with_the_built_in_backend_refuses_to_start_naming_the_path_of_the_missing_key()
    {
        var settings = ActorThrottleSettings.Parse("""
            actor-throttle {
              endpoint = "https://api.cometapi.com/v1"
              models { "gpt-4o-mini" { max-burst = 2 } }
            }
            """, TestConfig.Environment(("OPENAI_API_KEY", "sk-openai-not-for-comet")));

        var e = Assert.Throws<ActorThrottleConfigurationException>(() => ActorThrottleEngine.Start(Sys, settings, new ThrottleEnvironment()));

        Assert.Equal("actor-throttle.api-key", e.Path);
        Assert.Contains("https://api.cometapi.com/v1", e.Message, StringComparison.Ordinal);
        Assert.Contains("'gpt-4o-mini'", e.Message, StringComparison.Ordinal);
        Assert.Contains("COMETAPI_KEY", e.Message, StringComparison.Ordinal);
        Assert.Contains("OPENAI_API_KEY is set but is sent only to https://api.openai.com", e.Message, StringComparison.Ordinal);
        Assert.Contains("allow-unauthenticated = on", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-openai-not-for-comet", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_custom_backend_needs_no_key_so_the_engine_starts_and_only_logs_warnings()
    {
        var sink = new CapturingSink();
        var settings = ActorThrottleSettings.Parse("""
            actor-throttle { endpoint = "http://127.0.0.1:9/v1", allow-unauthenticated = on, models { m { endpoint = "https://api.openai.com" } } }
            """, TestConfig.NoEnvironment);
        Assert.Contains(settings.StartupFindings, f => f.IsError);

        ActorThrottleEngine.Start(Sys, settings, new ThrottleEnvironment
        {
            BackendFactory = ScriptedBackend.AlwaysSucceeds(),
            Logger = new LoggerConfiguration().WriteTo.Sink(sink).CreateLogger(),
        });

        var text = sink.AllText();
        Assert.Contains("actor-throttle.models.\"m\".endpoint", text, StringComparison.Ordinal);
        Assert.Contains("https://api.openai.com/v1", text, StringComparison.Ordinal);
        Assert.Contains("without an API key", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Models_from_defaults_without_a_key_are_an_error_when_nothing_else_is_configured_and_a_warning_beside_configured_models()
    {
        var alone = Assert.Single(Findings(""));
        Assert.True(alone.IsError);
        Assert.Equal("actor-throttle.api-key", alone.Path);
        Assert.Contains("unknown-models = reject", alone.Message, StringComparison.Ordinal);

        var beside = Assert.Single(Findings("""actor-throttle.models.m { endpoint = "http://127.0.0.1:9/v1", api-key = k }"""));
        Assert.False(beside.IsError);
        Assert.Equal("actor-throttle.api-key", beside.Path);

        Assert.Empty(Findings("""actor-throttle { unknown-models = reject, models.m { endpoint = "http://127.0.0.1:9/v1", api-key = k } }"""));
        Assert.Empty(Findings("", ("COMETAPI_KEY", "c")));
    }

    [Fact]
    public async Task A_model_created_from_defaults_without_a_key_is_answered_permanent_naming_the_keys_to_set()
    {
        var settings = ActorThrottleSettings.Parse("""
            actor-throttle { request-timeout = 2s, models.m { endpoint = "http://127.0.0.1:9/v1", api-key = k } }
            """, TestConfig.NoEnvironment);
        var engine = ActorThrottleEngine.Start(Sys, settings, new ThrottleEnvironment { Logger = new LoggerConfiguration().CreateLogger() });

        var failure = await Ask<ChatFailure>(engine, Request("unconfigured"));

        Assert.Equal(FailureReason.Permanent, failure.Reason);
        Assert.Contains("No API key for https://api.cometapi.com/v1", failure.Message, StringComparison.Ordinal);
        Assert.Contains("api-key-env", failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://api.openai.com", "https://api.openai.com/v1")]
    [InlineData("https://api.openai.com/", "https://api.openai.com/v1")]
    [InlineData("https://api.cometapi.com", "https://api.cometapi.com/v1")]
    [InlineData("https://API.CometAPI.com/chat", "https://api.cometapi.com/v1")]
    [InlineData("http://127.0.0.1:8000/v1/chat/completions", "http://127.0.0.1:8000/v1.")]
    [InlineData("https://gateway.example/v1/chat/completions/", "https://gateway.example/v1.")]
    [InlineData("http://gpu-box.internal:8000/v1", "plain http")]
    public void An_endpoint_that_is_not_an_OpenAI_compatible_base_url_or_sends_a_key_in_clear_is_warned_about_by_path(string endpoint, string advice)
    {
        var warning = Assert.Single(Findings($$"""actor-throttle { unknown-models = reject, models.m { endpoint = "{{endpoint}}", api-key = k } }"""));
        Assert.False(warning.IsError);
        Assert.Equal("actor-throttle.models.\"m\".endpoint", warning.Path);
        Assert.Contains(advice, warning.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://api.openai.com/v1")]
    [InlineData("https://api.cometapi.com/v1/")]
    [InlineData("http://127.0.0.1:8000/v1")]
    [InlineData("http://localhost:11434/v1")]
    [InlineData("https://my-resource.openai.azure.com/openai/deployments/gpt-4o")]
    public void A_plausible_base_url_gets_no_warning(string endpoint) =>
        Assert.Empty(Findings($$"""actor-throttle { endpoint = "{{endpoint}}", api-key = k }"""));

    [Fact]
    public void The_global_endpoint_is_checked_under_its_own_path()
    {
        var warning = Assert.Single(Findings("""actor-throttle { endpoint = "https://api.openai.com", api-key = k }"""));
        Assert.Equal("actor-throttle.endpoint", warning.Path);
    }

    [Theory]
    [InlineData("actor-throttle { api-key = k, api-key-env = K }", "actor-throttle.api-key-env")]
    [InlineData("actor-throttle.models.m { api-key = k, api-key-env = K }", "actor-throttle.models.\"m\".api-key-env")]
    [InlineData("actor-throttle.defaults.api-key-env = \"sk-pasted key\"", "actor-throttle.defaults.api-key-env")]
    public void Api_key_and_api_key_env_together_or_a_key_pasted_as_a_name_are_refused_without_echoing_the_value(string hocon, string path)
    {
        var e = TestConfig.ParseFails(hocon);
        Assert.Equal(path, e.Path);
        Assert.DoesNotContain("pasted", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unset_api_key_env_is_named_in_the_error_only_when_it_looks_like_a_variable_name()
    {
        var named = Assert.Single(Findings("""actor-throttle { endpoint = "http://127.0.0.1:1/v1", api-key-env = MY_KEY }"""));
        Assert.Contains("the variable MY_KEY (actor-throttle.api-key-env) is not set", named.Message, StringComparison.Ordinal);
        var unnamed = Assert.Single(Findings("""actor-throttle { endpoint = "http://127.0.0.1:1/v1", api-key-env = sk_lower_case_secret }"""));
        Assert.DoesNotContain("sk_lower_case_secret", unnamed.Message, StringComparison.Ordinal);
        Assert.Contains("the variable named by actor-throttle.api-key-env is not set", unnamed.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gpt-4o-mni", "gpt-4o-mini")]       // one deletion
    [InlineData("gpt4o-mini", "gpt-4o-mini")]       // one deletion
    [InlineData("gpt-4o-mimi", "gpt-4o-mini")]      // one substitution
    [InlineData("GPT-4O-MINI", "gpt-4o-mini")]      // case only
    [InlineData("gtp-4o-mini", "gpt-4o-mini")]      // two substitutions (a swap) in a long id
    [InlineData("gpt-4.2", "gpt-4.1")]              // one substitution
    [InlineData("gtp-4.2", null)]                   // two edits in a short id: too far
    [InlineData("gpt-4.1-nan", "gpt-4.1-nano")]     // nearer to nano than to gpt-4.1
    [InlineData("llama", "llam3")]                   // short ids: one edit
    [InlineData("gpt-4o", null)]                    // two edits from gpt-4.1, five from gpt-4o-mini: a different model
    [InlineData("o3", null)]                        // short and unrelated
    [InlineData("lla", null)]                       // short: two edits is too many
    [InlineData("gpt-4o-mini", null)]               // configured
    public void A_near_miss_is_within_one_edit_for_ids_up_to_ten_characters_and_two_for_longer_ones(string id, string? expected) =>
        Assert.Equal(expected, NearMiss.Find(id, ["gpt-4o-mini", "gpt-4.1", "gpt-4.1-nano", "llam3"]));

    [Fact]
    public async Task An_unknown_model_id_close_to_a_configured_one_is_warned_about_once_per_id()
    {
        var sink = new CapturingSink();
        var engine = StartEngine(ScriptedBackend.AlwaysSucceeds(), "actor-throttle.models { \"gpt-4o-mini\" { max-burst = 2 } }",
            new LoggerConfiguration().WriteTo.Sink(sink).CreateLogger());

        foreach (var id in new[] { "gpt-4o-mni", "gpt-4o-mni", "gpt-4o-mini", "GPT-4o-mini", "gpt-4o-mni", "totally-different" })
        {
            await Ask<ChatSuccess>(engine, Request(id));
        }

        var warnings = sink.Events.Where(e => e.MessageTemplate.Text.Contains("a typo?", StringComparison.Ordinal)).Select(e => e.RenderMessage()).ToList();
        Assert.Equal(2, warnings.Count);
        Assert.Contains(warnings, w => w.Contains("gpt-4o-mni", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.Contains("GPT-4o-mini", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_rejected_near_miss_says_which_configured_id_was_probably_meant()
    {
        var engine = StartEngine(ScriptedBackend.AlwaysSucceeds(), "actor-throttle { unknown-models = reject, models { \"gpt-4.1\" { max-burst = 2 } } }");

        var failure = await Ask<ChatFailure>(engine, Request("gpt-4.2"));

        Assert.Equal(FailureReason.UnknownModel, failure.Reason);
        Assert.EndsWith("Did you mean 'gpt-4.1'?", failure.Message, StringComparison.Ordinal);
    }
}
