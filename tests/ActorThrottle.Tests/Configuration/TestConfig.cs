using Xunit;
using ActorThrottle.Configuration;

namespace ActorThrottle.Tests.Configuration;

/// <summary>Helpers that never touch the real environment.</summary>
internal static class TestConfig
{
    /// <summary>An environment with no variables set.</summary>
    public static readonly Func<string, string?> NoEnvironment = _ => null;

    public static Func<string, string?> Environment(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;

    public static ActorThrottleSettings Parse(string hocon, Func<string, string?>? environment = null) =>
        ActorThrottleSettings.Parse(hocon, environment ?? NoEnvironment);

    public static ActorThrottleConfigurationException ParseFails(string hocon, Func<string, string?>? environment = null) =>
        Assert.Throws<ActorThrottleConfigurationException>(() => ActorThrottleSettings.Parse(hocon, environment ?? NoEnvironment));

    /// <summary>The text of <c>hocon/reference.conf</c> as embedded in the library.</summary>
    public static string ReferenceText()
    {
        using var stream = typeof(ActorThrottleSettings).Assembly.GetManifestResourceStream("ActorThrottle.reference.conf")
            ?? throw new InvalidOperationException("reference.conf is not embedded");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
