using ActorThrottle.Hosting;
using ActorThrottle.Messages;
using ActorThrottle.Models;
using ActorThrottle.Tests.Support;
using Akka.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Xunit;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace ActorThrottle.Tests.Hosting;

/// <summary>
/// <c>WithActorThrottle(IConfigurationSection)</c> watches the section (IOptionsMonitor): a reload (an in-memory provider's
/// <c>Reload</c>, a JSON file with reloadOnChange) applies changed limits to running models; an invalid value is logged
/// naming its key path and the old limits stay. Generic Host, scripted backend.
/// </summary>
public sealed class ConfigurationReloadSpec
{
    private const string Model = "gpt-4.1-mini";

    private static IHost StartHost(IConfiguration configuration, ScriptedBackend backend) =>
        Host.CreateDefaultBuilder()
            .ConfigureLogging(logging => logging.ClearProviders().AddFakeLogging().SetMinimumLevel(LogLevel.Information))
            .ConfigureServices(services =>
            {
                services.AddAkka("reload-spec", akka => akka
                    .AddHocon("akka.loglevel = WARNING", HoconAddMode.Prepend)
                    .WithActorThrottle(configuration.GetSection("ActorThrottle"), o => o.Environment = new ThrottleEnvironment { BackendFactory = backend }));
                services.AddActorThrottleClient();
            })
            .Build();

    private static IConfigurationRoot InMemory() => new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["ActorThrottle:Endpoint"] = "http://127.0.0.1:9/v1",
        ["ActorThrottle:AllowUnauthenticated"] = "true",
        ["ActorThrottle:Defaults:RequestsPerSecond"] = "100",
        ["ActorThrottle:Defaults:MaxBurst"] = "10",
        ["ActorThrottle:Defaults:MaxInFlight"] = "8",
        [$"ActorThrottle:Models:{Model}:RequestsPerSecond"] = "50",
        [$"ActorThrottle:Models:{Model}:MaxBurst"] = "8",
    }).Build();

    private static async Task<ModelStatus> WaitForStatusAsync(ActorThrottleClient client, string model, Func<ModelStatus, bool> done)
    {
        var status = await client.GetStatusAsync(model);
        for (var i = 0; i < 200 && !done(status); i++)
        {
            await Task.Delay(50);
            status = await client.GetStatusAsync(model);
        }
        return status;
    }

    private static async Task<FakeLogRecord> WaitForLogAsync(IHost host, Func<FakeLogRecord, bool> match)
    {
        for (var i = 0; i < 200; i++)
        {
            if (host.Services.GetFakeLogCollector().GetSnapshot().FirstOrDefault(match) is { } record)
            {
                return record;
            }
            await Task.Delay(50);
        }
        throw new Xunit.Sdk.XunitException("No such log record: " + string.Join("\n", host.Services.GetFakeLogCollector().GetSnapshot().Select(r => r.Message)));
    }

    [Fact]
    public async Task A_reload_applies_changed_limits_to_running_models_configured_and_from_defaults()
    {
        var configuration = InMemory();
        using var host = StartHost(configuration, ScriptedBackend.AlwaysSucceeds());
        await host.StartAsync();
        try
        {
            var client = host.Services.GetRequiredService<ActorThrottleClient>();
            Assert.IsType<ChatSuccess>(await client.CompleteAsync(Model, "hi").WaitAsync(TimeSpan.FromSeconds(20)));
            Assert.IsType<ChatSuccess>(await client.CompleteAsync("from-defaults", "hi").WaitAsync(TimeSpan.FromSeconds(20)));
            Assert.Equal(50, (await client.GetStatusAsync(Model)).Rate);

            configuration[$"ActorThrottle:Models:{Model}:RequestsPerSecond"] = "20";
            configuration["ActorThrottle:Defaults:MaxBurst"] = "4";
            configuration.Reload();

            var status = await WaitForStatusAsync(client, Model, s => s.Rate == 20);
            Assert.Equal(20, status.Rate);
            Assert.Equal(20, status.Limits!.RequestsPerSecond);
            Assert.Equal(8, status.Burst);                       // its own max-burst did not change
            var fromDefaults = await WaitForStatusAsync(client, "from-defaults", s => s.Burst == 4);
            Assert.Equal(4, fromDefaults.Limits!.MaxBurst);
            Assert.Equal(100, fromDefaults.Rate);
            // A model started after the reload starts from the new configuration.
            Assert.IsType<ChatSuccess>(await client.CompleteAsync("later", "hi").WaitAsync(TimeSpan.FromSeconds(20)));
            Assert.Equal(4, (await client.GetStatusAsync("later")).Limits!.MaxBurst);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task An_invalid_value_is_logged_naming_its_key_path_and_the_old_limits_stay()
    {
        var configuration = InMemory();
        using var host = StartHost(configuration, ScriptedBackend.AlwaysSucceeds());
        await host.StartAsync();
        try
        {
            var client = host.Services.GetRequiredService<ActorThrottleClient>();
            Assert.IsType<ChatSuccess>(await client.CompleteAsync(Model, "hi").WaitAsync(TimeSpan.FromSeconds(20)));
            var before = await client.GetStatusAsync(Model);

            configuration[$"ActorThrottle:Models:{Model}:MaxBurst"] = "0";
            configuration[$"ActorThrottle:Models:{Model}:RequestsPerSecond"] = "20";
            configuration.Reload();
            var invalid = await WaitForLogAsync(host, r => r.Level == LogLevel.Error && r.Message.Contains("rejected"));
            Assert.Contains($"'ActorThrottle:Models:{Model}:MaxBurst' (HOCON 'actor-throttle.models.\"{Model}\".max-burst') = 0: must be at least 1.", invalid.Message);

            // Valid on its own, but wider than the pipeline the model runs: rejected by the model, naming the key path.
            configuration[$"ActorThrottle:Models:{Model}:MaxBurst"] = "8";
            configuration[$"ActorThrottle:Models:{Model}:MaxInFlight"] = "9";
            configuration["ActorThrottle:Defaults:Retry:MaxAttempts"] = "3";
            configuration.Reload();
            var tooWide = await WaitForLogAsync(host, r => r.Level == LogLevel.Error && r.Message.Contains("max-in-flight"));
            Assert.Contains($"'ActorThrottle:Models:{Model}:MaxInFlight' (HOCON 'actor-throttle.models.\"{Model}\".max-in-flight')", tooWide.Message);
            Assert.Contains("cannot be raised live above 8", tooWide.Message);
            var restart = await WaitForLogAsync(host, r => r.Level == LogLevel.Warning && r.Message.Contains("apply after a restart"));
            Assert.Contains("retry", restart.Message);

            // Neither reload changed anything (all or nothing per model).
            var after = await client.GetStatusAsync(Model);
            Assert.Equal(before.Rate, after.Rate);
            Assert.Equal(before.Limits, after.Limits);

            // A later valid reload is applied.
            configuration[$"ActorThrottle:Models:{Model}:MaxInFlight"] = "2";
            configuration.Reload();
            var fixedUp = await WaitForStatusAsync(client, Model, s => s.Rate == 20);
            Assert.Equal(20, fixedUp.Rate);
            Assert.Equal(2, fixedUp.InFlightLimit);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task A_reload_applies_a_deployments_changed_limits_to_that_deployment_and_names_a_bad_one_by_its_path()
    {
        var configuration = InMemory();
        configuration["ActorThrottle:Models:pool:Deployments:0:Name"] = "a";
        configuration["ActorThrottle:Models:pool:Deployments:0:RequestsPerSecond"] = "40";
        configuration["ActorThrottle:Models:pool:Deployments:1:Name"] = "b";
        configuration["ActorThrottle:Models:pool:Deployments:1:RequestsPerSecond"] = "30";
        configuration.Reload();
        using var host = StartHost(configuration, ScriptedBackend.AlwaysSucceeds());
        await host.StartAsync();
        try
        {
            var client = host.Services.GetRequiredService<ActorThrottleClient>();
            Assert.IsType<ChatSuccess>(await client.CompleteAsync("pool", "hi").WaitAsync(TimeSpan.FromSeconds(20)));

            configuration["ActorThrottle:Models:pool:Deployments:1:RequestsPerSecond"] = "12";
            configuration.Reload();

            var status = await WaitForStatusAsync(client, "pool", s => s.Deployments![1].Rate == 12);
            Assert.Equal([40.0, 12.0], status.Deployments!.Select(d => d.Rate));
            var applied = await WaitForLogAsync(host, r => r.Level == LogLevel.Information && r.Message.Contains("limits of pool@b now"));
            Assert.DoesNotContain(host.Services.GetFakeLogCollector().GetSnapshot(), r => r.Level == LogLevel.Error);

            // Valid as configuration, too wide for the pipeline deployment a runs: rejected by it, named by its key path.
            configuration["ActorThrottle:Models:pool:Deployments:0:MaxInFlight"] = "9";
            configuration.Reload();
            var tooWide = await WaitForLogAsync(host, r => r.Level == LogLevel.Error && r.Message.Contains("max-in-flight"));
            Assert.Contains("'ActorThrottle:Models:pool:Deployments:0:MaxInFlight' (HOCON 'actor-throttle.models.\"pool\".deployments[0].max-in-flight')", tooWide.Message);
            Assert.Equal([40.0, 12.0], (await client.GetStatusAsync("pool")).Deployments!.Select(d => d.Rate));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task An_appsettings_json_file_with_reload_on_change_changes_a_running_models_limit()
    {
        var dir = Directory.CreateTempSubdirectory("actor-throttle-reload-");
        var file = Path.Combine(dir.FullName, "appsettings.json");
        static string Json(int rps) => $$"""
            { "ActorThrottle": { "Endpoint": "http://127.0.0.1:9/v1", "AllowUnauthenticated": true,
                "Models": { "{{Model}}": { "RequestsPerSecond": {{rps}} } } } }
            """;
        await File.WriteAllTextAsync(file, Json(50));
        try
        {
            var configuration = new ConfigurationBuilder().AddJsonFile(file, optional: false, reloadOnChange: true).Build();
            using var host = StartHost(configuration, ScriptedBackend.AlwaysSucceeds());
            await host.StartAsync();
            try
            {
                var client = host.Services.GetRequiredService<ActorThrottleClient>();
                Assert.IsType<ChatSuccess>(await client.CompleteAsync(Model, "hi").WaitAsync(TimeSpan.FromSeconds(20)));
                Assert.Equal(50, (await client.GetStatusAsync(Model)).Rate);

                await File.WriteAllTextAsync(file, Json(12));

                var status = await WaitForStatusAsync(client, Model, s => s.Rate == 12);
                Assert.Equal(12, status.Rate);
            }
            finally
            {
                await host.StopAsync();
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
