namespace ActorThrottle.Simulator;

/// <summary>How a model's token bucket is charged for a request.</summary>
public enum TokenAccounting
{
    /// <summary>Charge prompt tokens + max tokens at admission and never refund (OpenAI's way).</summary>
    Reserve,

    /// <summary>Charge prompt tokens + max tokens at admission, then refund the part of max tokens the completion did not use (Anthropic's way).</summary>
    Reconcile,
}
