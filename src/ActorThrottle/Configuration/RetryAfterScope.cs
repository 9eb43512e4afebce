namespace ActorThrottle.Configuration;

/// <summary>HOCON <c>adapt.pause-on-retry-after</c>: what a 429's <c>retry-after</c> holds back.</summary>
public enum RetryAfterScope
{
    /// <summary>Only the rejected request waits.</summary>
    Request,
    /// <summary>The whole model pauses until the retry-after has passed.</summary>
    Model,
}
