using System.Net;
using System.Net.Sockets;
using ActorThrottle.Hosting;
using ActorThrottle.Hosting.Health;
using ActorThrottle.Messages;
using ActorThrottle.Tests.Backend;
using ActorThrottle.Tests.Support;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Xunit;
using S = ActorThrottle.Simulator;

namespace ActorThrottle.Tests.Health;

/// <summary>
/// <c>AddActorThrottleHealthChecks</c> in a plain Generic Host (no Akka.Hosting.TestKit), against the simulator on
/// loopback and against a loopback port nobody listens on.
/// </summary>
[Collection(LoopbackCollection.Name)]
public sealed class HealthCheckHostSpec
{
    private const string Key = "sk-health-test";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private static IHost BuildHost(string endpoint, string? apiKey, Action<ActorThrottleHealthCheckOptions>? health = null, string hocon = "",
        Action<ModelOptions>? model = null)
    {
        var host = Host.CreateDefaultBuilder()
            .ConfigureServices(services =>
            {
                services.AddAkka("health-spec", akka => akka
                    .AddHocon("akka.loglevel = WARNING", HoconAddMode.Prepend)
                    .WithActorThrottle(o =>
                    {
                        // One attempt per request: each call shows in the recent outcomes as it happened.
                        o.Hocon = TestConfig.FastDefaults + "\nactor-throttle.defaults.retry.max-attempts = 1\n" + hocon;
                        o.Endpoint = endpoint;
                        o.ApiKey = apiKey;
                        o.Model("gpt-4o-mini", model ?? (_ => { }));
                        o.Environment = new ThrottleEnvironment { Logger = new Serilog.LoggerConfiguration().CreateLogger() };
                    }));
                services.AddActorThrottleClient();
                services.AddActorThrottleHealthChecks(health);
            })
            .Build();
        return host;
    }

    private static async Task<HealthReport> CheckAsync(IHost host) =>
        await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync().WaitAsync(Bound);

    private static async Task<ChatReply[]> SendAsync(IHost host, int count)
    {
        var client = host.Services.GetRequiredService<ActorThrottleClient>();
        return await Task.WhenAll(Enumerable.Range(0, count).Select(_ => client.CompleteAsync("gpt-4o-mini", "hello"))).WaitAsync(Bound);
    }

    private static int ClosedLoopbackPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    [Fact]
    public async Task A_model_answering_through_the_simulator_is_healthy()
    {
        await using var sim = await S.SimulatedProvider.StartNewAsync(new S.SimulatorOptions { ApiKey = Key, DefaultModel = new S.ModelSettings { RequestsPerSecond = 1000 } });
        using var host = BuildHost(sim.ApiBaseUrl.ToString(), Key);
        await host.StartAsync();
        try
        {
            Assert.All(await SendAsync(host, 3), r => Assert.IsType<ChatSuccess>(r));
            var report = await CheckAsync(host);
            Assert.Equal(HealthStatus.Healthy, report.Status);
            Assert.Equal(HealthStatus.Healthy, report.Entries["actor-throttle"].Status);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task A_provider_rejecting_most_attempts_with_429_makes_the_check_degraded()
    {
        // The simulator allows 1 request/s with a burst of 1; the engine believes 1000/s, so nearly all of 8 concurrent calls get 429.
        await using var sim = await S.SimulatedProvider.StartNewAsync(new S.SimulatorOptions
        {
            ApiKey = Key,
            DefaultModel = new S.ModelSettings { RequestsPerSecond = 1, RequestsPerSecondBurst = 1 },
        });
        using var host = BuildHost(sim.ApiBaseUrl.ToString(), Key);
        await host.StartAsync();
        try
        {
            var replies = await SendAsync(host, 8);
            Assert.True(replies.Count(r => r is ChatFailure { Reason: FailureReason.RateLimitedExhausted }) >= 5, "the simulator should have rejected most calls");
            var report = await CheckAsync(host);
            Assert.Equal(HealthStatus.Degraded, report.Status);
            Assert.StartsWith("gpt-4o-mini: ", report.Entries["actor-throttle"].Description);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task Every_recent_attempt_failing_to_connect_makes_the_check_unhealthy()
    {
        using var host = BuildHost($"http://127.0.0.1:{ClosedLoopbackPort()}/v1", Key);
        await host.StartAsync();
        try
        {
            Assert.Equal(HealthStatus.Healthy, (await CheckAsync(host)).Status);       // nothing sent yet
            Assert.All(await SendAsync(host, 3), r => Assert.Equal(FailureReason.Transient, Assert.IsType<ChatFailure>(r).Reason));
            var report = await CheckAsync(host);
            Assert.Equal(HealthStatus.Unhealthy, report.Status);
            Assert.Contains("gpt-4o-mini: the last 3 attempts to http://127.0.0.1:", report.Entries["actor-throttle"].Description);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task Models_created_from_defaults_with_no_key_for_their_endpoint_are_unhealthy_unless_unauthenticated_is_allowed()
    {
        // The configured model has its own endpoint and key, so the engine starts; models created on first use would call
        // the global endpoint, for which no key is bound: the check says so.
        await using var sim = await S.SimulatedProvider.StartNewAsync(new S.SimulatorOptions { ApiKey = Key });
        void OwnEndpoint(ModelOptions m)
        {
            m.Endpoint = sim.ApiBaseUrl.ToString();
            m.ApiKey = Key;
        }
        using (var host = BuildHost("https://llm.example.com/v1", apiKey: null, model: OwnEndpoint))
        {
            await host.StartAsync();
            var report = await CheckAsync(host);
            await host.StopAsync();
            Assert.Equal(HealthStatus.Unhealthy, report.Status);
            Assert.Contains("no API key is configured for https://llm.example.com/v1", report.Entries["actor-throttle"].Description);
        }
        using (var host = BuildHost("https://llm.example.com/v1", apiKey: null, hocon: "actor-throttle.allow-unauthenticated = on", model: OwnEndpoint))
        {
            await host.StartAsync();
            var report = await CheckAsync(host);
            await host.StopAsync();
            Assert.Equal(HealthStatus.Healthy, report.Status);
        }
    }

    [Fact]
    public async Task The_optional_start_up_probe_marks_an_unreachable_endpoint_unhealthy_before_any_request()
    {
        using (var host = BuildHost($"http://127.0.0.1:{ClosedLoopbackPort()}/v1", Key, h => h.ProbeEndpointsOnStart = true))
        {
            await host.StartAsync();
            var report = await CheckAsync(host);
            await host.StopAsync();
            Assert.Equal(HealthStatus.Unhealthy, report.Status);
            Assert.Contains("start-up probe could not reach http://127.0.0.1:", report.Entries["actor-throttle"].Description);
            Assert.Contains("connection failed", report.Entries["actor-throttle"].Description);
        }
        await using var sim = await S.SimulatedProvider.StartNewAsync(new S.SimulatorOptions { ApiKey = Key });
        using (var host = BuildHost(sim.ApiBaseUrl.ToString(), Key, h => h.ProbeEndpointsOnStart = true))
        {
            await host.StartAsync();
            var report = await CheckAsync(host);
            await host.StopAsync();
            Assert.Equal(HealthStatus.Healthy, report.Status);
        }
    }
}
