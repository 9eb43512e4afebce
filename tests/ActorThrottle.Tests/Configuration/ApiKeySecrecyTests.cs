using System.Text.Json;
using ActorThrottle.Configuration;
using Xunit;

namespace ActorThrottle.Tests.Configuration;

public sealed class ApiKeySecrecyTests
{
    private const string Secret = "sk-TOPSECRET-0123456789";

    private static void AssertNoSecret(Exception e)
    {
        Assert.DoesNotContain(Secret, e.ToString()); // message, inner exceptions and stack
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            Assert.DoesNotContain(Secret, inner.Message);
        }
    }

    [Theory]
    [InlineData($"actor-throttle.models {{ \"gpt-4.1\" {{ api-key = \"{Secret}\", max-burst = 0 }} }}", "max-burst")]
    [InlineData($"actor-throttle.models {{ \"gpt-4.1\" {{ max-burst = 0, api-key = \"{Secret}\" }} }}", "max-burst")]
    [InlineData($"actor-throttle.models {{ \"gpt-4.1\" {{ api-key = [\"{Secret}\"] }} }}", "api-key")]
    [InlineData($"actor-throttle.models {{ \"gpt-4.1\" {{ api-key {{ value = \"{Secret}\" }} }} }}", "api-key")]
    [InlineData($"actor-throttle {{ api-key = \"{Secret}\", request-timeout = \"abc\" }}", "request-timeout")]
    [InlineData($"actor-throttle {{ api-key = \"{Secret}\", endpoint = \"not a url\" }}", "endpoint")]
    [InlineData($"actor-throttle {{ api-key = \"{Secret}\", models {{ a {{ }}, b {{ }} }} }}", "actor-throttle")]
    [InlineData($"actor-throttle {{ api-key = \"{Secret}\" }} }}", "actor-throttle")]
    [InlineData($"actor-throttle {{ api-key = \"{Secret}", "actor-throttle")]
    [InlineData($"actor-throttle {{ api-key = {Secret} ]", "actor-throttle")]
    public void The_key_never_appears_in_a_configuration_error(string hocon, string pathPart)
    {
        var e = TestConfig.ParseFails(hocon);
        Assert.Contains(pathPart, e.Path);
        AssertNoSecret(e);
    }

    [Fact]
    public void The_key_from_the_environment_never_appears_in_a_configuration_error()
    {
        var e = TestConfig.ParseFails("actor-throttle.defaults.max-burst = 0", TestConfig.Environment(("COMETAPI_KEY", Secret)));
        AssertNoSecret(e);
    }

    [Fact]
    public void The_key_never_appears_in_ToString_or_JSON_of_the_settings_records()
    {
        var settings = TestConfig.Parse($$"""
            actor-throttle {
              api-key = "{{Secret}}"
              models { "gpt-4.1" { api-key = "{{Secret}}-model" } }
            }
            """);
        var model = settings.ForModel("gpt-4.1")!;
        var unknown = settings.ForModel("other")!;

        var printed = new object?[]
        {
            settings, settings.ApiKey, settings.Defaults, model, model.Route, model.Route.ApiKey, unknown, unknown.Route,
            $"{model.Route.ApiKey}", model.Route.Display, model.Retry, model.Adapt,
            JsonSerializer.Serialize(model), JsonSerializer.Serialize(model.Route), JsonSerializer.Serialize(settings.Defaults),
        };
        foreach (var item in printed)
        {
            Assert.DoesNotContain(Secret, item?.ToString() ?? "");
        }
        Assert.Contains("***", model.ToString());
        Assert.Equal(Secret + "-model", model.Route.ApiKey!.Reveal());
        Assert.Equal(Secret, unknown.Route.ApiKey!.Reveal());
    }

    [Fact]
    public void An_api_key_prints_as_stars_and_reveals_only_on_request()
    {
        var key = new ApiKey(Secret);
        Assert.Equal("***", key.ToString());
        Assert.Equal("***", $"{key}");
        Assert.Equal(Secret, key.Reveal());
    }

    [Fact]
    public void Api_keys_are_equal_by_value_and_ordinal()
    {
        var a = new ApiKey("sk-abc");
        var b = new ApiKey("sk-abc");
        var c = new ApiKey("sk-ABC");

        Assert.True(a.Equals(b));
        Assert.True(a.Equals((object)b));
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.False(a.Equals(c));
        Assert.False(a.Equals(null));
        Assert.False(a.Equals("sk-abc"));
        Assert.Single(new HashSet<ApiKey> { a, b });

        var endpoint = new Uri("https://api.example/v1");
        Assert.Equal(new ModelRoute(endpoint, a), new ModelRoute(endpoint, b));
        Assert.NotEqual(new ModelRoute(endpoint, a), new ModelRoute(endpoint, c));
        Assert.NotEqual(new ModelRoute(endpoint, a), new ModelRoute(endpoint, null));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(null)]
    public void A_blank_api_key_is_refused(string? value)
    {
        Assert.Throws<ArgumentException>(() => new ApiKey(value!));
    }
}
