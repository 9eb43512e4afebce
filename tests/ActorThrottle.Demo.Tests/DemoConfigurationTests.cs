using ActorThrottle.Configuration;
using Xunit;

namespace ActorThrottle.Demo.Tests;

public sealed class DemoConfigurationTests
{
    private static DemoConfiguration Load(string? userHocon = null, DemoOptions? options = null)
    {
        options ??= new DemoOptions();
        if (userHocon is not null)
        {
            options = options with { ConfigFile = "user.conf" };
        }
        return DemoConfiguration.Load(options, _ => userHocon ?? "");
    }

    [Fact]
    public void Defaults_come_from_demo_conf_and_run_the_simulator_below_the_claimed_limits()
    {
        var c = Load();
        Assert.True(c.UseSimulator);
        Assert.Equal(400, c.Requests);
        Assert.Equal(["gpt-4o-mini", "gpt-4.1-nano"], c.Models);
        Assert.Equal(16, c.MaxTokens);
        Assert.False(string.IsNullOrWhiteSpace(c.Prompt));
        var settings = c.BuildSettings(new Uri("http://127.0.0.1:9/v1"));
        foreach (var model in c.Models)
        {
            // The point of the demo: the HOCON claims more than the provider really allows.
            Assert.True(settings.ForModel(model)!.RequestsPerSecond > c.Simulator[model].RequestsPerSecond, model);
            Assert.Equal(new Uri("http://127.0.0.1:9/v1"), settings.ForModel(model)!.Route.Endpoint);
        }
    }

    [Fact]
    public void A_simulated_model_takes_any_limit_shape_schedule_and_header_dialect()
    {
        var c = Load("""
            demo.simulator.models."gpt-4o-mini" {
              requests-per-second = 0
              limits = ["fixed-window:20/1s,start=first-hit,charged", "concurrency:4", "sliding-log:1200/1m"]
              schedule = "5s=0.4,10s=1"
              header-mode = ietf-draft7
            }
            """);
        var sim = c.Simulator["gpt-4o-mini"];
        Assert.Equal(
            new[] { ActorThrottle.Simulator.LimitAlgorithm.FixedWindow, ActorThrottle.Simulator.LimitAlgorithm.Concurrency, ActorThrottle.Simulator.LimitAlgorithm.SlidingLog },
            sim.Limits.Select(l => l.Algorithm));
        Assert.Equal(2, sim.Schedule.Count);
        Assert.Equal(ActorThrottle.Simulator.RateLimitHeaderMode.IetfDraft7, sim.HeaderMode);
        // The tightest request rate of the limits, the concurrency cap aside.
        Assert.Equal(20, sim.RealRequestsPerSecond);
    }

    [Theory]
    [InlineData("limits = [\"leaky:5/1s\"]", "demo.simulator.models.\"gpt-4o-mini\".limits[0]", "unknown algorithm")]
    [InlineData("schedule = \"5s\"", "demo.simulator.models.\"gpt-4o-mini\".schedule", "a schedule step is")]
    [InlineData("header-mode = rfc", "demo.simulator.models.\"gpt-4o-mini\".header-mode", "ietf-draft7")]
    public void A_bad_simulated_shape_names_its_hocon_path(string line, string path, string why)
    {
        var e = Assert.Throws<DemoConfigurationException>(() => Load($"demo.simulator.models.\"gpt-4o-mini\" {{ {line} }}"));
        Assert.Contains($"'{path}'", e.Message);
        Assert.Contains(why, e.Message);
    }

    [Fact]
    public void Command_line_overrides_the_demo_block()
    {
        var c = Load(options: new DemoOptions { Requests = 12, Models = ["m1"], Prompt = "p", MaxTokens = 3 });
        Assert.Equal(12, c.Requests);
        Assert.Equal(["m1"], c.Models);
        Assert.Equal("p", c.Prompt);
        Assert.Equal(3, c.MaxTokens);
        // A model without a simulator block gets demo.simulator.default.
        Assert.Equal(10, c.Simulator["m1"].RequestsPerSecond);
    }

    [Fact]
    public void Config_file_is_merged_over_demo_conf()
    {
        var c = Load("""
            demo { requests = 9, simulator.models."gpt-4o-mini".requests-per-second = 33 }
            actor-throttle.models."gpt-4o-mini".max-burst = 3
            """);
        Assert.Equal(9, c.Requests);
        Assert.Equal(33, c.Simulator["gpt-4o-mini"].RequestsPerSecond);
        var model = c.BuildSettings(new Uri("http://127.0.0.1:9/v1")).ForModel("gpt-4o-mini")!;
        Assert.Equal(3, model.MaxBurst);
        Assert.Equal(40, model.RequestsPerSecond); // still demo.conf's
    }

    [Fact]
    public void Models_configured_in_the_file_are_the_ones_driven()
    {
        // Akka's parser wants each model block on its own line (a comma between blocks does not parse).
        var c = Load("""
            actor-throttle.models {
              "a" { requests-per-second = 7 }
              "b.c" { requests-per-second = 8 }
            }
            """);
        Assert.Equal(["a", "b.c"], c.Models);
        Assert.True(c.UseSimulator);
    }

    [Fact]
    public void Endpoint_option_turns_the_simulator_off_and_sets_the_default_endpoint()
    {
        var c = Load(options: new DemoOptions { Endpoint = new Uri("https://api.example.com/v1") });
        Assert.False(c.UseSimulator);
        Assert.Empty(c.Simulator);
        Assert.Equal(new Uri("https://api.example.com/v1"), c.BuildSettings(null).ForModel("gpt-4o-mini")!.Route.Endpoint);
    }

    [Theory]
    [InlineData("https://api.openai.com/v1", "sk-openai-env")]
    [InlineData("https://api.cometapi.com/v1", "sk-comet-env")]
    [InlineData("https://api.example.com/v1", null)]
    [InlineData("http://127.0.0.1:8002/v1", null)]
    public void With_endpoint_only_the_variable_of_that_host_is_read(string endpoint, string? expected)
    {
        var env = new Dictionary<string, string> { ["OPENAI_API_KEY"] = "sk-openai-env", ["COMETAPI_KEY"] = "sk-comet-env" };
        var settings = DemoConfiguration.Load(new DemoOptions { Endpoint = new Uri(endpoint) }, _ => "", n => env.GetValueOrDefault(n)).BuildSettings(null);
        Assert.Equal(expected, settings.ForModel("gpt-4o-mini")!.Route.ApiKey?.Reveal());
    }

    [Fact]
    public void The_simulator_gets_its_own_placeholder_key_and_never_a_real_one()
    {
        var env = new Dictionary<string, string> { ["OPENAI_API_KEY"] = "sk-openai-env", ["COMETAPI_KEY"] = "sk-comet-env" };
        var settings = DemoConfiguration.Load(new DemoOptions(), _ => "", n => env.GetValueOrDefault(n)).BuildSettings(new Uri("http://127.0.0.1:9/v1"));
        Assert.Equal("simulator", settings.ForModel("gpt-4o-mini")!.Route.ApiKey!.Reveal());
        Assert.DoesNotContain(settings.StartupFindings, f => f.IsError);
    }

    [Fact]
    public void Any_endpoint_in_the_file_turns_the_simulator_off_and_per_model_endpoints_win()
    {
        var c = Load("""
            actor-throttle.models {
              "a" { endpoint = "http://127.0.0.1:8001/v1", api-key = "k-a" }
              "b" { }
            }
            """, new DemoOptions { Endpoint = new Uri("http://127.0.0.1:8002/v1") });
        Assert.False(c.UseSimulator);
        var settings = c.BuildSettings(null);
        Assert.Equal(8001, settings.ForModel("a")!.Route.Endpoint.Port);
        Assert.Equal("k-a", settings.ForModel("a")!.Route.ApiKey!.Reveal());
        Assert.Equal(8002, settings.ForModel("b")!.Route.Endpoint.Port);

        Assert.False(Load("actor-throttle.endpoint = \"https://x.example/v1\"").UseSimulator);
    }

    [Fact]
    public void Simulator_mode_never_sends_a_real_key()
    {
        var c = Load("actor-throttle.api-key = \"sk-real\"");
        Assert.True(c.UseSimulator);
        Assert.Equal("simulator", c.BuildSettings(new Uri("http://127.0.0.1:9/v1")).ApiKey!.Reveal());
    }

    [Fact]
    public void Bad_engine_value_names_its_hocon_path()
    {
        var e = Assert.Throws<ActorThrottleConfigurationException>(() => Load("actor-throttle.models.\"gpt-4o-mini\".max-burst = 0"));
        Assert.Equal("actor-throttle.models.\"gpt-4o-mini\".max-burst", e.Path);
        Assert.Contains("= 0", e.Message);
    }

    [Fact]
    public void Parse_errors_point_at_the_line_of_the_users_file()
    {
        var e = Assert.Throws<ActorThrottleConfigurationException>(() => Load("demo {\n  requests = 5\n}\n}\n"));
        Assert.Contains("line 4, column 1 of user.conf", e.Message);
    }

    [Fact]
    public void Akka_parse_errors_point_at_the_line_of_the_users_file_too()
    {
        var e = Assert.Throws<ActorThrottleConfigurationException>(() => Load("demo.requests = 5\nactor-throttle.models { \"a\" { }, \"b\" { } }\n"));
        Assert.Contains("line 2, column", e.Message);
        Assert.Contains("of user.conf", e.Message);
    }

    [Theory]
    [InlineData("demo.requests = 0", "demo.requests")]
    [InlineData("demo.requests = lots", "demo.requests")]
    [InlineData("demo.max-tokens = -3", "demo.max-tokens")]
    [InlineData("demo.models = []", "demo.models")]
    [InlineData("demo.plain-interval = soon", "demo.plain-interval")]
    [InlineData("demo.simulator.models.\"gpt-4o-mini\".requests-per-second = -1", "demo.simulator.models.\"gpt-4o-mini\".requests-per-second")]
    [InlineData("demo.simulator.models.\"gpt-4.1-nano\".header-mode = loud", "demo.simulator.models.\"gpt-4.1-nano\".header-mode")]
    [InlineData("demo { models = [\"z\"], simulator.default.burst = 0.5 }", "demo.simulator.default.burst")]
    public void Bad_demo_value_names_its_path(string hocon, string path)
    {
        var e = Assert.Throws<DemoConfigurationException>(() => Load(hocon));
        Assert.Contains($"'{path}'", e.Message);
    }

    [Fact]
    public void Unreadable_file_is_reported_with_its_name()
    {
        var e = Assert.Throws<DemoConfigurationException>(() =>
            DemoConfiguration.Load(new DemoOptions { ConfigFile = "/nonexistent/demo-missing.conf" }));
        Assert.Contains("/nonexistent/demo-missing.conf", e.Message);
    }

    [Fact]
    public void An_unset_required_environment_variable_in_the_config_file_names_the_key_and_the_variable()
    {
        // The demo expands substitutions with the library's ActorThrottleSettings.ExpandEnvironment (tested in
        // ActorThrottle.Tests' SubstitutionTests); a required one that is unset fails the load, naming both.
        var e = Assert.ThrowsAny<Exception>(() => DemoConfiguration.Load(new DemoOptions { ConfigFile = "user.conf" },
            _ => "actor-throttle.api-key = ${DEMO_KEY_NOT_SET}\n", _ => null));
        Assert.Contains("DEMO_KEY_NOT_SET", e.Message);
        Assert.Contains("api-key", e.Message);
    }

    [Fact]
    public void Keys_from_environment_substitutions_reach_the_models()
    {
        var env = new Dictionary<string, string> { ["BETA_KEY"] = "sk-beta" };
        var c = DemoConfiguration.Load(new DemoOptions { ConfigFile = "user.conf" }, _ => """
            actor-throttle.models {
              "alpha" {
                endpoint = "http://127.0.0.1:18081/v1"
                api-key = ${?ALPHA_KEY_NOT_SET}
              }
              "beta" {
                endpoint = "http://127.0.0.1:18082/v1"
                api-key = ${?BETA_KEY}
              }
            }
            """, n => env.GetValueOrDefault(n));
        Assert.False(c.UseSimulator);
        var settings = c.BuildSettings(null);
        Assert.Equal("sk-beta", settings.ForModel("beta")!.Route.ApiKey!.Reveal());
        Assert.Equal(settings.ApiKey, settings.ForModel("alpha")!.Route.ApiKey);
    }

    [Fact]
    public void Deployments_run_one_model_over_simulated_deployments_the_first_configured_the_others_auto()
    {
        var c = Load(options: new DemoOptions { Deployments = 3 });

        Assert.Equal(["gpt-4o-mini"], c.Models);
        Assert.Equal([("sim-0", "gpt-4o-mini@sim-0", 20.0), ("sim-1", "gpt-4o-mini@sim-1", 5.0), ("sim-2", "gpt-4o-mini@sim-2", 10.0)],
            c.Deployments.Select(d => (d.Name, d.SimulatorModel, d.RealLimit)));
        Assert.Equal([20.0, 5.0, 10.0], c.Deployments.Select(d => c.Simulator[d.SimulatorModel].RequestsPerSecond));
        var deployments = c.BuildSettings(new Uri("http://127.0.0.1:1/v1")).ForModel("gpt-4o-mini")!.Deployments;
        Assert.Equal(["sim-0", "sim-1", "sim-2"], deployments.Select(d => d.Name));
        Assert.Equal(["gpt-4o-mini@sim-0", "gpt-4o-mini@sim-1", "gpt-4o-mini@sim-2"], deployments.Select(d => d.Settings.ProviderModel));
        Assert.Equal([false, true, true], deployments.Select(d => d.Settings.AutoRate));
        Assert.Equal(20, deployments[0].Settings.RequestsPerSecond);
    }

    [Fact]
    public void Deployments_need_the_simulator()
    {
        var e = Assert.Throws<DemoConfigurationException>(() => Load(options: new DemoOptions { Deployments = 2, Endpoint = new Uri("https://api.openai.com/v1") }));
        Assert.Contains("--deployments", e.Message);
    }
}
