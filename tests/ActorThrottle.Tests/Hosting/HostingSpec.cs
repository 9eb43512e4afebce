using ActorThrottle.Configuration;
using ActorThrottle.Hosting;
using ActorThrottle.Messages;
using ActorThrottle.Tests.Support;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace ActorThrottle.Tests.Hosting;

/// <summary>The Akka.Hosting integration inside a real Generic Host (no Akka.Hosting.TestKit: it is xunit v3).</summary>
public sealed class HostingSpec
{
    private static IHost BuildHost(Action<ActorThrottleOptions> configure, string? hocon = null) =>
        Host.CreateDefaultBuilder()
            .ConfigureServices(services =>
            {
                services.AddAkka("hosting-spec", builder =>
                {
                    if (hocon is not null)
                    {
                        builder.AddHocon(hocon, HoconAddMode.Prepend);
                    }
                    builder.WithActorThrottle(configure);
                });
                services.AddActorThrottleClient();
            })
            .Build();

    private static ThrottleEnvironment Scripted(ScriptedBackend backend) => new()
    {
        BackendFactory = backend,
        Logger = new Serilog.LoggerConfiguration().CreateLogger(),
    };

    [Fact]
    public async Task A_host_asks_through_the_typed_client_and_through_the_registry()
    {
        var backend = ScriptedBackend.AlwaysSucceeds();
        using var host = BuildHost(o =>
        {
            o.Environment = Scripted(backend);
            o.Model("gpt-4.1-mini", m => m.RequestsPerSecond = 100);
        });
        await host.StartAsync();
        try
        {
            var client = host.Services.GetRequiredService<ActorThrottleClient>();
            var reply = Assert.IsType<ChatSuccess>(await client.CompleteAsync("gpt-4.1-mini", "hello").WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.Equal(1, reply.Attempts);

            var router = host.Services.GetRequiredService<IRequiredActor<ActorThrottleRouter>>();
            var asked = await router.ActorRef.Ask<ChatReply>(new ChatRequest("gpt-4.1-mini", [ChatMessage.User("hi")]), TimeSpan.FromSeconds(10));
            Assert.IsType<ChatSuccess>(asked);
            Assert.Equal(100, (await client.GetStatusAsync("gpt-4.1-mini")).Rate);
            Assert.Equal(2, backend.TotalCalls);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task Options_win_over_the_apps_hocon_which_wins_over_the_reference()
    {
        using var host = BuildHost(
            o =>
            {
                o.Environment = Scripted(ScriptedBackend.AlwaysSucceeds());
                o.Defaults.MaxBurst = 3;
            },
            hocon: "actor-throttle.defaults { max-burst = 7, requests-per-second = 42 }");
        await host.StartAsync();
        try
        {
            var config = host.Services.GetRequiredService<ActorSystem>().Settings.Config;
            var settings = ActorThrottleSettings.FromConfig(config, _ => null);
            Assert.Equal(3, settings.Defaults.MaxBurst);
            Assert.Equal(42, settings.Defaults.RequestsPerSecond);
            Assert.Equal(10000, settings.Defaults.QueueSize);
            // Akka's own logging goes to the host's ILoggerFactory (Akka.Hosting's bridge) unless UseSerilog.
            Assert.Contains("LoggerFactoryLogger", string.Join(",", config.GetStringList("akka.loggers")));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task Invalid_settings_fail_the_hosts_start_naming_the_hocon_path()
    {
        using var host = BuildHost(o =>
        {
            o.Environment = Scripted(ScriptedBackend.AlwaysSucceeds());
            o.Model("gpt-4.1", m => m.MaxBurst = 0);
        });
        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());
        var configuration = FindInner<ActorThrottleConfigurationException>(error);
        Assert.NotNull(configuration);
        Assert.Equal("actor-throttle.models.\"gpt-4.1\".max-burst", configuration!.Path);
    }

    [Fact]
    public async Task Cluster_mode_through_WithActorThrottle_fails_the_start_pointing_at_WithActorThrottleCluster()
    {
        // ActorThrottle.Hosting has no cluster dependency: cluster mode must come from ActorThrottle.Cluster's extension.
        using var host = BuildHost(o =>
        {
            o.Environment = Scripted(ScriptedBackend.AlwaysSucceeds());
            o.Cluster = new ActorThrottleClusterOptions();
        });
        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync());
        var cause = FindInner<InvalidOperationException>(error);
        Assert.NotNull(cause);
        Assert.Contains("WithActorThrottleCluster", cause!.Message);
    }

    [Fact]
    public void The_hosting_assembly_references_no_cluster_assembly()
    {
        var references = typeof(ActorThrottleHostingExtensions).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToList();
        Assert.Contains("ActorThrottle", references);
        Assert.DoesNotContain(references, r => r.StartsWith("Akka.Cluster", StringComparison.Ordinal) || r == "ActorThrottle.Cluster");
    }

    [Fact]
    public async Task Stopping_the_host_answers_pending_requests()
    {
        var gate = new TaskCompletionSource();
        var backend = new ScriptedBackend(async (r, _, ct) => { await gate.Task.WaitAsync(ct); return ScriptedBackend.Success(r); });
        using var host = BuildHost(o =>
        {
            o.Environment = Scripted(backend);
            o.Defaults.MaxInFlight = 1;
            o.Hocon = "actor-throttle.shutdown-grace = 200ms";
        });
        await host.StartAsync();
        var client = host.Services.GetRequiredService<ActorThrottleClient>();
        var pending = Enumerable.Range(0, 20).Select(_ => client.CompleteAsync("m", "x")).ToList();
        while (backend.TotalCalls == 0)
        {
            await Task.Delay(10);
        }
        await host.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var replies = await Task.WhenAll(pending).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.All(replies, r => Assert.Equal(FailureReason.ShuttingDown, Assert.IsType<ChatFailure>(r).Reason));
    }

    [Fact]
    public void Options_become_hocon_with_quoted_model_ids_and_escaped_strings()
    {
        var options = new ActorThrottleOptions { Endpoint = "https://example.test/v1", ApiKey = "k\"ey\\1", RequestTimeout = TimeSpan.FromSeconds(2.5) };
        options.Model("meta-llama/Llama-3.1-8B:free", m => { m.RequestsPerSecond = 2.5; m.Endpoint = "http://127.0.0.1:9/v1"; m.ApiKeyEnv = "LOCAL_KEY"; });
        options.Model("local", m => { m.Endpoint = "http://127.0.0.1:8/v1"; m.AllowUnauthenticated = true; });
        options.Model("same-host", m => m.MaxBurst = 3);
        var settings = ActorThrottleSettings.FromConfig(options.ToConfig(), name => name == "LOCAL_KEY" ? "local-key" : null);
        Assert.Equal(new Uri("https://example.test/v1"), settings.Endpoint);
        Assert.Equal("k\"ey\\1", settings.ApiKey!.Reveal());
        Assert.Equal(TimeSpan.FromSeconds(2.5), settings.RequestTimeout);
        var model = settings.ForModel("meta-llama/Llama-3.1-8B:free")!;
        Assert.Equal(2.5, model.RequestsPerSecond);
        Assert.Equal(new Uri("http://127.0.0.1:9/v1"), model.Route.Endpoint);
        // The global key belongs to example.test: the model on another host gets the key its ApiKeyEnv names.
        Assert.Equal("local-key", model.Route.ApiKey!.Reveal());
        Assert.Equal(new ModelRoute(new Uri("http://127.0.0.1:8/v1"), null) { AllowUnauthenticated = true }, settings.ForModel("local")!.Route);
        Assert.Equal("k\"ey\\1", settings.ForModel("same-host")!.Route.ApiKey!.Reveal());
    }

    [Fact]
    public void Auto_options_become_auto_in_hocon_over_a_number()
    {
        var options = new ActorThrottleOptions { ApiKey = "k" };
        options.Defaults.RequestsPerSecond = 7;
        options.Model("a", m => { m.AutoRequestsPerSecond = true; m.RequestsPerSecond = 3; m.AutoTokensPerMinute = true; });
        options.Model("b", m => m.TokensPerMinute = 5000);
        var settings = ActorThrottleSettings.FromConfig(options.ToConfig(), _ => null);
        Assert.False(settings.Defaults.AutoRate);
        Assert.Equal(7, settings.Defaults.RequestsPerSecond);
        Assert.True(settings.ForModel("a")!.AutoRate);
        Assert.True(settings.ForModel("a")!.AutoTokens);
        Assert.False(settings.ForModel("b")!.AutoTokens);
        Assert.Equal(5000, settings.ForModel("b")!.TokensPerMinute);
    }

    [Fact]
    public async Task The_typed_client_can_be_resolved_before_the_actor_system_starts()
    {
        using var host = BuildHost(o => o.Environment = Scripted(ScriptedBackend.AlwaysSucceeds()));
        // Resolved before StartAsync, as a hosted service constructed ahead of Akka's would.
        var client = host.Services.GetRequiredService<ActorThrottleClient>();
        Assert.Null(client.Router);
        await host.StartAsync();
        try
        {
            Assert.IsType<ChatSuccess>(await client.CompleteAsync("early", "hi").WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.NotNull(client.Router);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    private static T? FindInner<T>(Exception? e) where T : Exception
    {
        while (e is not null)
        {
            if (e is T match)
            {
                return match;
            }
            if (e is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions)
                {
                    if (FindInner<T>(inner) is { } found)
                    {
                        return found;
                    }
                }
            }
            e = e.InnerException;
        }
        return null;
    }
}
