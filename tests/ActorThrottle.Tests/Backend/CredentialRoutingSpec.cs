using ActorThrottle.Backend;
using ActorThrottle.Configuration;
using ActorThrottle.Messages;
using Xunit;

namespace ActorThrottle.Tests.Backend;

/// <summary>
/// DESIGN.md "Credentials" over the wire: for every combination of global/defaults/model endpoint and key, api-key-env,
/// allow-unauthenticated and environment variables, which key reached which host (recorded by loopback servers standing
/// in for each host), or which start-up error the settings raise instead of sending anything.
/// </summary>
[Collection(LoopbackCollection.Name)]
public sealed class CredentialRoutingSpec : IAsyncLifetime
{
    // Environment values: distinctive, so a key in the wrong place is easy to spot.
    private const string OpenAiKey = "sk-openai-ENV";
    private const string CometKey = "sk-comet-ENV";

    // Host labels used in the table; "local" and "other" are two loopback servers on different ports (two origins),
    // the named hosts are reached through a handler that hands their requests to a loopback server of their own.
    private static readonly string[] Hosts = ["openai", "comet", "gateway", "local", "other"];

    private readonly Dictionary<string, ScriptedHttpServer> _servers = new(StringComparer.Ordinal);
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        foreach (var host in Hosts)
        {
            _servers[host] = await ScriptedHttpServer.StartAsync();
        }
        var routes = new Dictionary<string, Uri>(StringComparer.OrdinalIgnoreCase)
        {
            ["https://api.openai.com:443"] = _servers["openai"].BaseUri,
            ["https://api.cometapi.com:443"] = _servers["comet"].BaseUri,
            ["https://gateway.example:443"] = _servers["gateway"].BaseUri,
        };
        _http = new HttpClient(new HostMap(routes, new SocketsHttpHandler { AllowAutoRedirect = false })) { Timeout = TimeSpan.FromSeconds(10) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        foreach (var server in _servers.Values)
        {
            await server.DisposeAsync();
        }
    }

    /// <summary>
    /// One combination. <c>{local}</c>/<c>{other}</c> in the HOCON become the loopback servers' base URLs. The model
    /// <c>m</c> is asked for; the expectation is either the host and the Authorization header it receives (null: none),
    /// or the HOCON path of the start-up error (then nothing is sent).
    /// </summary>
    public static TheoryData<string, string, string, string?, string?, string?> Combinations => new()
    {
        // case, hocon, environment, expected host, expected bearer key (null: no header), expected error path
        { "default endpoint (CometAPI) + COMETAPI_KEY", "", "COMETAPI_KEY=" + CometKey, "comet", CometKey, null },
        { "default endpoint + both variables: only COMETAPI_KEY goes to CometAPI", "", $"COMETAPI_KEY={CometKey};OPENAI_API_KEY={OpenAiKey}", "comet", CometKey, null },
        { "default endpoint (CometAPI) + only OPENAI_API_KEY: start-up error, no key sent", "", "OPENAI_API_KEY=" + OpenAiKey, null, null, "actor-throttle.api-key" },
        { "global endpoint OpenAI + OPENAI_API_KEY", "endpoint = \"https://api.openai.com/v1\"", $"COMETAPI_KEY={CometKey};OPENAI_API_KEY={OpenAiKey}", "openai", OpenAiKey, null },
        { "global endpoint OpenAI + only COMETAPI_KEY: start-up error", "endpoint = \"https://api.openai.com/v1\"", "COMETAPI_KEY=" + CometKey, null, null, "actor-throttle.api-key" },
        { "global api-key beats the host's variable", "endpoint = \"https://api.openai.com/v1\", api-key = k-global", "OPENAI_API_KEY=" + OpenAiKey, "openai", "k-global", null },
        { "loopback endpoint + global api-key (tests, simulator)", "endpoint = \"{local}\", api-key = k-global", $"COMETAPI_KEY={CometKey};OPENAI_API_KEY={OpenAiKey}", "local", "k-global", null },
        { "loopback endpoint, no key, both variables set: start-up error", "endpoint = \"{local}\"", $"COMETAPI_KEY={CometKey};OPENAI_API_KEY={OpenAiKey}", null, null, "actor-throttle.api-key" },
        { "other host with a well-known variable set: neither is sent, start-up error", "endpoint = \"https://gateway.example/v1\"", $"COMETAPI_KEY={CometKey};OPENAI_API_KEY={OpenAiKey}", null, null, "actor-throttle.api-key" },
        { "global api-key-env for another host", "endpoint = \"https://gateway.example/v1\", api-key-env = GATEWAY_KEY", $"GATEWAY_KEY=k-gateway;OPENAI_API_KEY={OpenAiKey}", "gateway", "k-gateway", null },
        { "global api-key-env naming an unset variable: start-up error", "endpoint = \"https://gateway.example/v1\", api-key-env = GATEWAY_KEY", "", null, null, "actor-throttle.api-key" },
        { "model endpoint on another host + global key: not inherited", "endpoint = \"{local}\", api-key = k-global, models.m.endpoint = \"{other}\"", "", null, null, "actor-throttle.models.\"m\".api-key" },
        { "model endpoint on another host + its own api-key", "endpoint = \"{local}\", api-key = k-global, models.m { endpoint = \"{other}\", api-key = k-model }", "", "other", "k-model", null },
        { "model endpoint on another host + its own api-key-env", "endpoint = \"{local}\", api-key = k-global, models.m { endpoint = \"{other}\", api-key-env = OTHER_KEY }", "OTHER_KEY=k-env", "other", "k-env", null },
        { "model api-key-env naming an unset variable: start-up error", "endpoint = \"{local}\", api-key = k-global, models.m { endpoint = \"{other}\", api-key-env = OTHER_KEY }", "", null, null, "actor-throttle.models.\"m\".api-key" },
        { "model api-key on the global endpoint beats the global key and the variable", "api-key = k-global, models.m.api-key = k-model", "COMETAPI_KEY=" + CometKey, "comet", "k-model", null },
        { "model endpoint on the same origin (other path) inherits the global key", "endpoint = \"{local}\", api-key = k-global, models.m.endpoint = \"{local}/other/v1\"", "", "local", "k-global", null },
        { "model endpoint OpenAI + OPENAI_API_KEY, global key bound to loopback", "endpoint = \"{local}\", api-key = k-global, models.m.endpoint = \"https://api.openai.com/v1\"", "OPENAI_API_KEY=" + OpenAiKey, "openai", OpenAiKey, null },
        { "model endpoint OpenAI, no OPENAI_API_KEY, global key bound to loopback: start-up error", "endpoint = \"{local}\", api-key = k-global, models.m.endpoint = \"https://api.openai.com/v1\"", "COMETAPI_KEY=" + CometKey, null, null, "actor-throttle.models.\"m\".api-key" },
        { "model endpoint CometAPI + COMETAPI_KEY, global OpenAI with its key", "endpoint = \"https://api.openai.com/v1\", api-key = k-global, models.m.endpoint = \"https://api.cometapi.com/v1\"", $"COMETAPI_KEY={CometKey};OPENAI_API_KEY={OpenAiKey}", "comet", CometKey, null },
        { "unauthenticated local server (global)", "endpoint = \"{local}\", allow-unauthenticated = on", $"COMETAPI_KEY={CometKey};OPENAI_API_KEY={OpenAiKey}", "local", null, null },
        { "unauthenticated local server (model), global key bound elsewhere is not sent", "endpoint = \"{local}\", api-key = k-global, models.m { endpoint = \"{other}\", allow-unauthenticated = on }", "", "other", null, null },
        { "global allow-unauthenticated does not cover a model on another host", "endpoint = \"{local}\", allow-unauthenticated = on, models.m.endpoint = \"{other}\"", "", null, null, "actor-throttle.models.\"m\".api-key" },
        { "allow-unauthenticated with a key: the key is still sent", "endpoint = \"{local}\", api-key = k-global, allow-unauthenticated = on", "", "local", "k-global", null },
        { "defaults endpoint + defaults key", "endpoint = \"{local}\", api-key = k-global, defaults { endpoint = \"{other}\", api-key = k-defaults }, models.m.max-burst = 2", "", "other", "k-defaults", null },
        { "defaults key without defaults endpoint binds to the global one; model elsewhere: not inherited", "endpoint = \"{local}\", defaults.api-key = k-defaults, models.m.endpoint = \"{other}\"", "", null, null, "actor-throttle.models.\"m\".api-key" },
        { "defaults endpoint without a key; global key bound to the global endpoint: not inherited", "endpoint = \"{local}\", api-key = k-global, defaults.endpoint = \"{other}\", models.m.max-burst = 2", "", null, null, "actor-throttle.defaults.api-key" },
    };

    [Theory]
    [MemberData(nameof(Combinations))]
    public async Task A_key_reaches_only_the_host_it_was_configured_for(string @case, string hocon, string environment,
        string? expectedHost, string? expectedKey, string? expectedError)
    {
        var text = "actor-throttle {\nunknown-models = reject\n" + hocon
            .Replace("}, ", "}\n", StringComparison.Ordinal)
            .Replace("{local}/other", _servers["local"].BaseUri + "other", StringComparison.Ordinal)
            .Replace("{local}", _servers["local"].V1.ToString(), StringComparison.Ordinal)
            .Replace("{other}", _servers["other"].V1.ToString(), StringComparison.Ordinal)
            + "\nmodels.m.max-in-flight = 4\n}";
        var variables = environment.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(v => v.Split('=', 2)).ToDictionary(v => v[0], v => v[1]);
        var settings = ActorThrottleSettings.Parse(text, name => variables.GetValueOrDefault(name));
        var errors = settings.StartupFindings.Where(f => f.IsError).ToList();

        if (expectedError is not null)
        {
            var error = Assert.Single(errors);
            Assert.Equal(expectedError, error.Path);
            Assert.Contains("no API key", error.Message, StringComparison.Ordinal);
            foreach (var secret in variables.Values.Append("k-global").Append("k-model").Append("k-defaults"))
            {
                Assert.DoesNotContain(secret, error.ToException().Message, StringComparison.Ordinal);
            }
            // The engine's check would stop the start; a backend built anyway refuses to send.
            Assert.Throws<InvalidOperationException>(() => new OpenAIChatBackend(settings.ForModel("m")!, _http));
            Assert.All(_servers.Values, s => Assert.Equal(0, s.RequestCount));
            return;
        }

        Assert.True(errors.Count == 0, $"{@case}: unexpected start-up error {string.Join("; ", errors.Select(e => e.Message))}");
        var backend = new OpenAIChatBackend(settings.ForModel("m")!, _http);
        var reply = await backend.SendAsync(new ChatRequest("m", [ChatMessage.User("hi")]), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(OutcomeKind.Success, reply.Kind);
        foreach (var (host, server) in _servers)
        {
            if (host == expectedHost)
            {
                var request = Assert.Single(server.Requests);
                Assert.Equal(expectedKey is null ? null : "Bearer " + expectedKey, request.Header("Authorization"));
            }
            else
            {
                Assert.Equal(0, server.RequestCount);
            }
        }
    }

    [Fact]
    public async Task A_redirect_to_another_host_is_not_followed_and_fails_naming_that_host_with_the_key_reaching_only_the_first()
    {
        var target = new Uri(_servers["other"].V1 + "/chat/completions");
        _servers["local"].Respond(new ScriptedResponse(307).WithHeader("Location", target.ToString()));
        using var factory = new OpenAIChatBackendFactory(maxConnectionsPerServer: 4);
        var settings = ActorThrottleSettings.Parse($"actor-throttle {{ endpoint = \"{_servers["local"].V1}\", api-key = k-global }}", _ => null);

        var reply = await factory.Create(settings.ForModel("m")!).SendAsync(new ChatRequest("m", [ChatMessage.User("hi")]), CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(OutcomeKind.Permanent, reply.Kind);
        Assert.Equal(307, reply.StatusCode);
        Assert.Equal("redirect", reply.ErrorCode);
        Assert.Contains($"127.0.0.1:{_servers["other"].Port}", reply.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains($"POST {_servers["local"].V1}/chat/completions", reply.ErrorMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("k-global", reply.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal("Bearer k-global", Assert.Single(_servers["local"].Requests).Header("Authorization"));
        Assert.Equal(0, _servers["other"].RequestCount);
    }

    [Theory]
    [InlineData("")]
    [InlineData("/v2")]
    public async Task A_404_names_the_url_called_and_suggests_the_base_url_but_never_the_key(string path)
    {
        _servers["local"].Respond(ScriptedResponse.Error(404, null, "Not Found"));
        using var factory = new OpenAIChatBackendFactory(maxConnectionsPerServer: 4);
        var endpoint = _servers["local"].BaseUri + path.TrimStart('/');
        var settings = ActorThrottleSettings.Parse($"actor-throttle {{ endpoint = \"{endpoint}\", api-key = sk-SECRET-404 }}", _ => null);

        var reply = await factory.Create(settings.ForModel("m")!).SendAsync(new ChatRequest("m", [ChatMessage.User("hi")]), CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(OutcomeKind.Permanent, reply.Kind);
        var called = $"http://127.0.0.1:{_servers["local"].Port}{path}/chat/completions";
        Assert.Equal(path + "/chat/completions", Assert.Single(_servers["local"].Requests).Path);
        Assert.Contains($"POST {called} answered 404 (Not Found)", reply.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("base URL", reply.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("/v1", reply.ErrorMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("SECRET", reply.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_404_model_not_found_names_the_url_without_blaming_the_base_url()
    {
        _servers["local"].Respond(ScriptedResponse.Error(404, "model_not_found", "The model `m` does not exist."));
        var settings = ActorThrottleSettings.Parse($"actor-throttle {{ endpoint = \"{_servers["local"].V1}\", api-key = k }}", _ => null);

        var reply = await new OpenAIChatBackend(settings.ForModel("m")!, _http).SendAsync(new ChatRequest("m", [ChatMessage.User("hi")]), CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal($"POST {_servers["local"].V1}/chat/completions answered 404 (The model `m` does not exist.)", reply.ErrorMessage);
        Assert.Equal("model_not_found", reply.ErrorCode);
    }

    /// <summary>Sends each request for one of <paramref name="routes"/>' origins to its loopback stand-in; others go where they were addressed.</summary>
    private sealed class HostMap(IReadOnlyDictionary<string, Uri> routes, HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var uri = request.RequestUri!;
            if (routes.TryGetValue($"{uri.Scheme}://{uri.Host}:{uri.Port}", out var target))
            {
                request.RequestUri = new Uri(target, uri.PathAndQuery);
            }
            return base.SendAsync(request, cancellationToken);
        }
    }
}
