using ActorThrottle.Configuration;
using ActorThrottle.Deployments;
using ActorThrottle.Models;
using Akka.Actor;

namespace ActorThrottle.Routing;

internal sealed partial class ThrottleRouter
{
    /// <summary>
    /// The actor that serves a model: its supervisor, or — for a model that lists <c>deployments</c> — a balancer over one
    /// supervisor per deployment. Builds the backends (which may throw: the caller answers the request with the reason).
    /// </summary>
    private Props ModelProps(ModelSettings settings) => settings.Deployments.Count == 0
        ? ModelSupervisor.Props(settings, _environment, _backends.Create(settings), _metrics, _settings.ShutdownGrace)
        : DeploymentBalancer.Props(settings, _environment, settings.Deployments.Select(d => _backends.Create(d.Settings)).ToList(), _metrics, _settings.ShutdownGrace);
}
