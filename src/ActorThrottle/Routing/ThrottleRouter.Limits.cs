using ActorThrottle.Limits;
using ActorThrottle.Models;
using Akka.Actor;

namespace ActorThrottle.Routing;

/// <summary>Limits set at run time: routed like the model's other messages; answered here when the model cannot take them.</summary>
internal sealed partial class ThrottleRouter
{
    private void SetLimits(SetModelLimits message)
    {
        var model = message.Model ?? "";
        if (string.IsNullOrWhiteSpace(message.Model))
        {
            Sender.Tell(new ModelLimitsRejected(model, "model", "SetModelLimits.Model is blank."));
            return;
        }
        if (message.Limits is null)
        {
            Sender.Tell(new ModelLimitsRejected(model, "limits", "SetModelLimits.Limits is null."));
            return;
        }
        if (message.Deployment is { } named && string.IsNullOrWhiteSpace(named))
        {
            Sender.Tell(new ModelLimitsRejected(model, "deployment", "SetModelLimits.Deployment is blank: name a deployment of the model, or leave it null for a model without deployments."));
            return;
        }
        if (message.Limits.Validate() is { } invalid)
        {
            Sender.Tell(new ModelLimitsRejected(model, invalid.Field, invalid.Message));
            return;
        }
        if (_shuttingDown)
        {
            Sender.Tell(new ModelLimitsRejected(model, "model", "The actor system is shutting down."));
            return;
        }
        if (_models.TryGetValue(model, out var running))
        {
            running.Forward(message);
            return;
        }
        var modelSettings = _settings.ForModel(model);
        if (modelSettings is null)
        {
            Sender.Tell(new ModelLimitsRejected(model, "model", UnknownModelMessage(model, NearMiss.Find(model, _settings.ConfiguredModels.Keys))));
            return;
        }
        if (message.Deployment is not null && modelSettings.Deployments.Count == 0)
        {
            Sender.Tell(NoDeployments(model, message.Deployment));
            return;
        }
        if (_shardRegion is not null)
        {
            _shardRegion.Forward(message);
            return;
        }
        // Not started yet: start it now, so the limits hold from its first request (a later request would otherwise
        // create it from the configuration and the limits would be lost). A model with deployments starts too when the
        // message names one; its balancer checks the name.
        if (modelSettings.Deployments.Count > 0 && message.Deployment is null)
        {
            Sender.Tell(DeploymentsRefuseLimits(modelSettings));
            return;
        }
        Props props;
        try
        {
            props = ModelProps(modelSettings);
        }
        catch (Exception e)
        {
            Sender.Tell(new ModelLimitsRejected(model, "model", $"Could not create the backend for model '{model}': {e.GetType().Name}: {e.Message}"));
            return;
        }
        running = Context.ActorOf(props, ActorName(model));
        _models.Add(model, running);
        running.Forward(message);
    }

    /// <summary>A model with <c>deployments</c> has limits per deployment: the message must name one.</summary>
    internal static ModelLimitsRejected DeploymentsRefuseLimits(Configuration.ModelSettings model) =>
        new(model.ModelId, "deployments",
            $"Model '{model.ModelId}' lists deployments, each with its own limits: name the deployment whose limits change "
            + $"(SetLimitsAsync(model, deployment, limits); SetModelLimits.Deployment). Its deployments: {Names(model)}.");

    /// <summary>A deployment named for a model without deployments.</summary>
    internal static ModelLimitsRejected NoDeployments(string model, string deployment) =>
        new(model, "deployment", $"Model '{model}' lists no deployments, so there is no deployment '{deployment}': leave the deployment out to set the model's limits.");

    /// <summary>A deployment name the model does not list.</summary>
    internal static ModelLimitsRejected UnknownDeployment(Configuration.ModelSettings model, string deployment) =>
        new(model.ModelId, "deployment", $"Model '{model.ModelId}' has no deployment '{deployment}'. Its deployments: {Names(model)}.");

    private static string Names(Configuration.ModelSettings model) => string.Join(", ", model.Deployments.Select(d => $"'{d.Name}'"));

    private void ReplaceSettings(ReplaceSettings message)
    {
        _settings = message.Settings;
        // Unknown ids were judged against the old configuration; judge them again.
        _unknownIds.Clear();
        Sender.Tell(new RunningModels(_models.Keys.ToList(), _shardRegion is not null));
    }
}
