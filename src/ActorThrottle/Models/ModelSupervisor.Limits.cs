using ActorThrottle.Limits;
using Akka.Actor;

namespace ActorThrottle.Models;

/// <summary>Limits set at run time (<see cref="SetModelLimits"/>): validated whole, then applied to rate control, the in-flight gate and admission.</summary>
internal sealed partial class ModelSupervisor
{
    // A limit was set at run time: from then on a token limit of 0 in rate control is the user's, and is applied.
    private bool _limitsSet;

    /// <summary>
    /// Applies <paramref name="message"/>'s limits, all or none, and answers exactly once. Nothing held is touched:
    /// queued requests stay queued (a lower queue-size only turns new ones away until the ledger is below it), calls in
    /// flight finish (a lower max-in-flight lets no new call in until enough have left), and the throttle's rate, burst
    /// and token rate change in place (they never refill a bucket).
    /// </summary>
    private void SetLimits(SetModelLimits message)
    {
        if (message.Limits is null)
        {
            Sender.Tell(new ModelLimitsRejected(_settings.ModelId, "limits", "SetModelLimits.Limits is null."));
            return;
        }
        if (message.Deployment is { } deployment)
        {
            // A balancer forwards with the deployment resolved (null): a name here reached a model without deployments.
            Sender.Tell(Routing.ThrottleRouter.NoDeployments(_settings.ModelId, deployment));
            return;
        }
        var (next, error) = message.Limits.ApplyTo(_settings, _pipeline.MaxInFlight, _pipeline.QueueSize);
        if (error is { } invalid)
        {
            Sender.Tell(new ModelLimitsRejected(_settings.ModelId, invalid.Field, invalid.Message));
            return;
        }
        var old = _settings;
        _settings = next!;
        _limitsSet = true;
        Apply(_rate.SetLimits(_settings, _time.GetUtcNow()));
        if (_settings.MaxInFlight != old.MaxInFlight && _concurrency.SetMax(_settings.MaxInFlight))
        {
            _gate?.SetLimit(_concurrency.Limit);
        }
        ApplySettings();
        _log.Information("Limits of {Model} set: {Limits}", _settings.ModelId, message.Limits);
        Sender.Tell(new ModelLimitsSet(_settings.ModelId, Status()));
    }

    /// <summary>The limits in force, every field filled.</summary>
    private ModelLimits LimitsInForce() => new()
    {
        RequestsPerSecond = _settings.AutoRate ? null : _settings.RequestsPerSecond,
        AutoRate = _settings.AutoRate,
        TokensPerMinute = _settings.TokensPerMinute,
        MaxBurst = _settings.MaxBurst,
        MinBurst = _settings.MinBurst,
        MinRate = _settings.MinRate,
        MaxInFlight = _settings.MaxInFlight,
        QueueSize = _settings.QueueSize,
    };
}
