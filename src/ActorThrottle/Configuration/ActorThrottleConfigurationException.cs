namespace ActorThrottle.Configuration;

/// <summary>A HOCON value ActorThrottle cannot use. The message names the full path and the bad value.</summary>
public sealed class ActorThrottleConfigurationException : Exception
{
    public ActorThrottleConfigurationException(string path, string? value, string problem, Exception? inner = null)
        : base($"Invalid configuration at '{path}'{(value is null ? "" : $" = {value}")}: {problem}", inner)
    {
        Path = path;
    }

    /// <summary>The HOCON path of the offending key.</summary>
    public string Path { get; }
}
