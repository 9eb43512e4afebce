using System.Text.Json;
using System.Text.Json.Serialization;

namespace ActorThrottle.Simulator;

/// <summary>JSON conventions of the admin routes: camelCase names, enums as camelCase strings.</summary>
internal static class SimulatorJson
{
    public static JsonSerializerOptions Options { get; } = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
