namespace ActorThrottle.Simulator;

/// <summary>What the simulator does with a request for a model it has no settings for.</summary>
public enum UnknownModelPolicy
{
    /// <summary>Serve it with <see cref="SimulatorOptions.DefaultModel"/>.</summary>
    Serve,

    /// <summary>Reply 404 with code <c>model_not_found</c>.</summary>
    Reject,
}
