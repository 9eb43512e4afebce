namespace ActorThrottle.Configuration;

/// <summary>
/// A problem found at start-up that does not stop the settings from being read: a model with no API key for its
/// endpoint (<see cref="IsError"/>: the engine refuses to start with the built-in HTTP backend), an endpoint that does not
/// look like an OpenAI-compatible base URL, a server called without a key (warnings, logged at start).
/// </summary>
/// <param name="Path">The HOCON path to change.</param>
/// <param name="Message">What is wrong and how to fix it; never holds a key.</param>
/// <param name="IsError">True: the engine does not start with the built-in backend; false: a warning.</param>
public sealed record ConfigurationFinding(string Path, string Message, bool IsError)
{
    /// <summary>The exception the engine throws for an error finding.</summary>
    public ActorThrottleConfigurationException ToException() => new(Path, null, Message);
}
