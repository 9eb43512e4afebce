using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ActorThrottle.Hosting;
using ActorThrottle.Simulator;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Xunit;

namespace ActorThrottle.WebApi.Tests;

/// <summary>
/// The sample as shipped (appsettings.json, the in-process simulator on loopback) started on 127.0.0.1 port 0 with
/// Kestrel: a chat is answered, /health is healthy, the ActorThrottle spans and GenAI metric reach the app's
/// OpenTelemetry pipeline, and the live-limits endpoints work.
/// </summary>
public sealed class WebApiSpec : IAsyncLifetime
{
    private readonly List<Activity> _spans = [];
    private readonly List<Metric> _metrics = [];
    private WebApplication _app = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _app = await ChatApi.CreateAsync(["--contentRoot", AppContext.BaseDirectory], builder =>
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Urls"] = "http://127.0.0.1:0",
                ["Telemetry:ConsoleExporter"] = "false",
                // Fast and roomy for a shared CI machine: the test checks the wiring, not the throttle.
                ["Simulator:RequestsPerSecond"] = "1000",
                ["Simulator:LatencyMs"] = "0",
                // A model over two deployments, for the per-deployment limits.
                ["ActorThrottle:Models:pool:ProviderModel"] = "gpt-4o-mini",
                ["ActorThrottle:Models:pool:Deployments:0:Name"] = "east",
                ["ActorThrottle:Models:pool:Deployments:0:RequestsPerSecond"] = "20",
                ["ActorThrottle:Models:pool:Deployments:1:Name"] = "west",
                ["ActorThrottle:Models:pool:Deployments:1:RequestsPerSecond"] = "10",
            });
            builder.Services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(_spans));
            builder.Services.ConfigureOpenTelemetryMeterProvider(metrics => metrics.AddInMemoryExporter(_metrics));
        });
        await _app.StartAsync();
        _http = new HttpClient { BaseAddress = new Uri(_app.Urls.Single()), Timeout = TimeSpan.FromSeconds(30) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    [Fact]
    public void It_listens_on_loopback_and_talks_to_the_in_process_simulator()
    {
        Assert.StartsWith("http://127.0.0.1:", _app.Urls.Single());
        Assert.DoesNotContain(":0", _app.Urls.Single()[^2..]);
        var simulator = _app.Services.GetRequiredService<SimulatedProvider>();
        Assert.Equal(simulator.ApiBaseUrl.ToString(), _app.Configuration["ActorThrottle:Endpoint"]);
    }

    [Fact]
    public async Task A_chat_is_answered_health_is_healthy_and_a_span_and_a_metric_are_produced()
    {
        var response = await _http.PostAsJsonAsync("/chat", new ChatBody("gpt-4o-mini", "Hello!", MaxTokens: 20));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var answer = (await response.Content.ReadFromJsonAsync<ChatAnswer>())!;
        Assert.False(string.IsNullOrEmpty(answer.Content));
        Assert.Equal(1, answer.Attempts);
        Assert.True(answer.CompletionTokens > 0);
        var simulator = _app.Services.GetRequiredService<SimulatedProvider>();
        Assert.Equal(1, simulator.GetStats().For("gpt-4o-mini").Totals.Accepted);

        var health = await _http.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("Healthy", await health.Content.ReadAsStringAsync());

        // Spans: the request's and the attempt's from the ActorThrottle source, under ASP.NET Core's server span.
        var throttle = Assert.Single(_spans, s => s.Source.Name == "ActorThrottle" && s.DisplayName == "throttle gpt-4o-mini");
        var attempt = Assert.Single(_spans, s => s.Source.Name == "ActorThrottle" && s.DisplayName == "chat gpt-4o-mini");
        Assert.Equal(throttle.SpanId, attempt.ParentSpanId);
        var server = Assert.Single(_spans, s => s.Kind == ActivityKind.Server && s.DisplayName == "POST /chat");
        Assert.Equal(server.TraceId, throttle.TraceId);
        Assert.Equal(server.SpanId, throttle.ParentSpanId);
        // The HTTP call to the provider continues the trace under the attempt.
        var http = Assert.Single(_spans, s => s.Kind == ActivityKind.Client && s.Source.Name == "System.Net.Http"
            && s.GetTagItem("url.full") is string url && url.EndsWith("/v1/chat/completions", StringComparison.Ordinal));
        Assert.Equal(attempt.SpanId, http.ParentSpanId);
        // Metrics: the GenAI client duration histogram of the ActorThrottle meter.
        _app.Services.GetRequiredService<MeterProvider>().ForceFlush();
        Assert.Contains(_metrics, m => m.MeterName == "ActorThrottle" && m.Name == "gen_ai.client.operation.duration" && m.Unit == "s");
    }

    [Fact]
    public async Task A_bad_chat_is_a_400_naming_the_field()
    {
        var response = await _http.PostAsJsonAsync("/chat", new ChatBody("gpt-4o-mini", "Hello!", MaxTokens: 0));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("InvalidRequest", problem.GetProperty("title").GetString());
        Assert.Contains("MaxTokens", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Limits_are_read_and_set_live_and_a_bad_value_is_a_400_naming_the_field()
    {
        Assert.Equal(HttpStatusCode.OK, (await _http.PostAsJsonAsync("/chat", new ChatBody("gpt-4o-mini", "Hello!"))).StatusCode);
        var before = await _http.GetFromJsonAsync<JsonElement>("/admin/limits/gpt-4o-mini");
        Assert.Equal(20, before.GetProperty("limits").GetProperty("requestsPerSecond").GetDouble());     // appsettings.json

        var set = await _http.PutAsJsonAsync("/admin/limits/gpt-4o-mini", new { requestsPerSecond = 7, maxBurst = 2 });
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        var status = await set.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(7, status.GetProperty("rate").GetDouble());
        Assert.Equal(2, status.GetProperty("burst").GetInt32());

        var bad = await _http.PutAsJsonAsync("/admin/limits/gpt-4o-mini", new { maxBurst = 0 });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var problem = await bad.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("must be at least 1", problem.GetProperty("errors").GetProperty("max-burst")[0].GetString());
    }

    [Fact]
    public async Task A_deployments_limits_are_set_with_the_deployment_in_the_query_and_the_model_alone_is_a_400_listing_them()
    {
        var set = await _http.PutAsJsonAsync("/admin/limits/pool?deployment=west", new { requestsPerSecond = 4 });
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        var status = await set.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("pool@west", status.GetProperty("model").GetString());
        Assert.Equal(4, status.GetProperty("rate").GetDouble());

        var whole = await _http.PutAsJsonAsync("/admin/limits/pool", new { requestsPerSecond = 4 });
        Assert.Equal(HttpStatusCode.BadRequest, whole.StatusCode);
        var problem = await whole.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("'east', 'west'", problem.GetProperty("errors").GetProperty("deployments")[0].GetString());

        var unknown = await _http.PutAsJsonAsync("/admin/limits/pool?deployment=north", new { requestsPerSecond = 4 });
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("no deployment 'north'", (await unknown.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").GetProperty("deployment")[0].GetString());
    }
}
