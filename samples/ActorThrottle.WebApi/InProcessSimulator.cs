using ActorThrottle.Simulator;

namespace ActorThrottle.WebApi;

/// <summary>
/// With <c>Simulator:Enabled</c> (the default), starts the built-in rate-limited provider on a free loopback port and
/// points <c>ActorThrottle:Endpoint</c> at it, so the sample runs with no key and no network.
/// </summary>
internal static class InProcessSimulator
{
    public static async Task<SimulatedProvider?> StartIfEnabledAsync(ConfigurationManager configuration)
    {
        var section = configuration.GetSection("Simulator");
        if (!section.GetValue("Enabled", true))
        {
            return null;
        }
        var simulator = await SimulatedProvider.StartNewAsync(new SimulatorOptions
        {
            DefaultModel = new ModelSettings
            {
                RequestsPerSecond = section.GetValue("RequestsPerSecond", 20.0),
                TokensPerMinute = section.GetValue("TokensPerMinute", 0.0),
                Latency = TimeSpan.FromMilliseconds(section.GetValue("LatencyMs", 50)),
            },
        });
        // In memory, over appsettings.json: the simulator's port is known only now. The simulator needs no key.
        configuration["ActorThrottle:Endpoint"] = simulator.ApiBaseUrl.ToString();
        configuration["ActorThrottle:AllowUnauthenticated"] = "true";
        return simulator;
    }
}
