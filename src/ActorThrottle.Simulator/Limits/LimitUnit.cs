namespace ActorThrottle.Simulator;

/// <summary>What a limit counts.</summary>
public enum LimitUnit
{
    /// <summary>One per request.</summary>
    Requests,

    /// <summary>Prompt tokens plus max tokens of the request (refunded per the model's accounting).</summary>
    Tokens,
}
