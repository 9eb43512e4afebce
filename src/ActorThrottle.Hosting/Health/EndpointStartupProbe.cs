using System.Net.Sockets;
using ActorThrottle.Configuration;
using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ActorThrottle.Hosting.Health;

/// <summary>
/// The optional start-up probe: once every hosted service has started (so the actor system and its settings exist),
/// one unauthenticated <c>GET {endpoint}/models</c> per distinct endpoint. Any HTTP answer means reachable; no key is
/// ever sent, so a probe can neither leak one nor spend quota.
/// </summary>
internal sealed class EndpointStartupProbe(IServiceProvider services, ActorThrottleHealthCheckOptions options, EndpointProbeResults results)
    : IHostedLifecycleService
{
    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        if (services.GetService<ActorSystem>() is not { } system)
        {
            return;
        }
        var settings = ActorThrottleSettings.FromConfig(system.Settings.Config);
        var endpoints = ActorThrottleHealthCheck.ModelsToCheck(settings, options).Select(m => m.Route.Endpoint).Distinct().ToList();
        using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = options.ProbeTimeout };
        await Task.WhenAll(endpoints.Select(async endpoint => results.Record(endpoint, await ProbeAsync(http, endpoint, cancellationToken).ConfigureAwait(false))))
            .ConfigureAwait(false);
    }

    /// <summary>Null when the endpoint answered HTTP at all; otherwise a short reason without the URL's user info or query.</summary>
    internal static async Task<string?> ProbeAsync(HttpClient http, Uri endpoint, CancellationToken cancellationToken)
    {
        var models = new Uri(endpoint.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/models");
        try
        {
            using var response = await http.GetAsync(models, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (HttpRequestException e)
        {
            return e.InnerException is SocketException socket ? $"connection failed ({socket.SocketErrorCode})" : $"request failed ({e.HttpRequestError})";
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"no answer within {http.Timeout.TotalSeconds:0.#} s";
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
