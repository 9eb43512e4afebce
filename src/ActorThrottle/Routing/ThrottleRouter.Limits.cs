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
        if (_shardRegion is not null)
        {
            _shardRegion.Forward(message);
            return;
        }
        // Not started yet: start it now, so the limits hold from its first request (a later request would otherwise
        // create it from the configuration and the limits would be lost).
        if (modelSettings.Deployments.Count > 0)
        {
            Sender.Tell(DeploymentsRefuseLimits(model));
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

    /// <summary>A model with <c>deployments</c> has a limit per deployment, which this message cannot name.</summary>
    internal static ModelLimitsRejected DeploymentsRefuseLimits(string model) =>
        new(model, "deployments", $"Model '{model}' lists deployments, each with its own limits; limits cannot be set at run time for such a model yet. Change them in the configuration of models.\"{model}\".deployments.");

    private void ReplaceSettings(ReplaceSettings message)
    {
        _settings = message.Settings;
        // Unknown ids were judged against the old configuration; judge them again.
        _unknownIds.Clear();
        Sender.Tell(new RunningModels(_models.Keys.ToList(), _shardRegion is not null));
    }
}
