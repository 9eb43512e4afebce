namespace ActorThrottle.Configuration;

/// <summary>HOCON <c>actor-throttle.unknown-models</c>.</summary>
public enum UnknownModelPolicy
{
    /// <summary>A model without its own block gets a throttle built from <c>defaults</c>.</summary>
    Create,
    /// <summary>A model without its own block is answered <c>UnknownModel</c>.</summary>
    Reject,
}
