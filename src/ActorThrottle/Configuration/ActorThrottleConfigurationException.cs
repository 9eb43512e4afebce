namespace ActorThrottle.Configuration;

/// <summary>A HOCON value ActorThrottle cannot use. The message names the full path and the bad value.</summary>
public sealed class ActorThrottleConfigurationException : Exception
{
    private const string Prefix = "Invalid configuration at '";

    public ActorThrottleConfigurationException(string path, string? value, string problem, Exception? inner = null)
        : base($"{Prefix}{path}'{(value is null ? "" : $" = {value}")}: {problem}", inner)
    {
        Path = path;
    }

    /// <summary>
    /// <paramref name="error"/> for settings that came from an <c>IConfiguration</c> section: the message names
    /// <paramref name="configurationPath"/> (e.g. <c>ActorThrottle:Defaults:Retry:MaxAttempts</c>) and the HOCON path.
    /// </summary>
    public ActorThrottleConfigurationException(ActorThrottleConfigurationException error, string configurationPath)
        : base(WithConfigurationPath(error ?? throw new ArgumentNullException(nameof(error)), configurationPath), error.InnerException)
    {
        Path = error.Path;
        ConfigurationPath = configurationPath;
    }

    /// <summary>The HOCON path of the offending key.</summary>
    public string Path { get; }

    /// <summary>The same key's <c>IConfiguration</c> path when the settings were bound from a configuration section; else null.</summary>
    public string? ConfigurationPath { get; }

    private static string WithConfigurationPath(ActorThrottleConfigurationException error, string configurationPath)
    {
        var named = $"{Prefix}{error.Path}'";
        var rest = error.Message.StartsWith(named, StringComparison.Ordinal) ? error.Message[named.Length..] : ": " + error.Message;
        return $"{Prefix}{configurationPath}' (HOCON '{error.Path}'){rest}";
    }
}
