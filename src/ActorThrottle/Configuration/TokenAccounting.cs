namespace ActorThrottle.Configuration;

/// <summary>HOCON <c>token-accounting</c>: how a request's token cost is charged.</summary>
public enum TokenAccounting
{
    /// <summary>Charge prompt + max tokens at admission; never refund (OpenAI).</summary>
    Reserve,
    /// <summary>Charge prompt + max tokens at admission; refund what the reported usage did not use (Anthropic).</summary>
    Reconcile,
}
