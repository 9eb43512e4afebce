using System.Globalization;
using ActorThrottle.Configuration;
using Akka.Actor;
using Akka.Configuration;
using Sim = ActorThrottle.Simulator;

namespace ActorThrottle.Batch;

/// <summary>The engine (and, with <c>--simulate</c>, the in-process simulator) a batch run talks to.</summary>
public sealed class BatchHost : IAsyncDisposable
{
    private BatchHost(ActorSystem system, ActorThrottleEngine engine, Sim.SimulatedProvider? simulator)
    {
        System = system;
        Engine = engine;
        Simulator = simulator;
    }

    public ActorSystem System { get; }
    public ActorThrottleEngine Engine { get; }
    public Sim.SimulatedProvider? Simulator { get; }

    /// <summary>
    /// Builds the settings (config file, then <c>--endpoint</c>/the simulator's URL over it), starts the simulator
    /// when asked and the engine. Throws <see cref="ActorThrottleConfigurationException"/> for a bad config.
    /// </summary>
    public static async Task<BatchHost> StartAsync(BatchOptions options, CancellationToken cancellationToken = default)
    {
        var fileText = options.ConfigPath is null ? "" : await File.ReadAllTextAsync(options.ConfigPath, cancellationToken).ConfigureAwait(false);
        if (fileText.Length > 0)
        {
            // Validates the file on its own so an error names the file's path, not our overlay.
            _ = ActorThrottleSettings.Parse(fileText);
        }

        Sim.SimulatedProvider? simulator = null;
        var overlay = new List<string>();
        var endpoint = options.Endpoint;
        if (options.Simulate)
        {
            var latency = options.SimulatorLatency;
            simulator = await Sim.SimulatedProvider.StartNewAsync(new Sim.SimulatorOptions
            {
                // The default keeps a million acceptance timestamps per model for its own checks: not needed here.
                AcceptanceHistoryCapacity = 10_000,
                DefaultModel = new Sim.ModelSettings
                {
                    RequestsPerSecond = options.SimulatorRate,
                    Latency = latency,
                    LatencyJitter = latency / 2,
                    Seed = 7,
                },
            }, cancellationToken).ConfigureAwait(false);
            endpoint ??= simulator.ApiBaseUrl.ToString();
            overlay.Add("actor-throttle.api-key = \"simulator\"");
            if (options.ConfigPath is null)
            {
                // No config: run each model at the simulator's limit, with enough calls in flight to cover its latency.
                var inFlight = Math.Max(5, (int)Math.Ceiling(options.SimulatorRate * (latency * 1.5).TotalSeconds * 2));
                overlay.Add(string.Create(CultureInfo.InvariantCulture,
                    $"actor-throttle.defaults {{ requests-per-second = {options.SimulatorRate}, max-in-flight = {inFlight}, max-burst = {Math.Max(10, (int)(options.SimulatorRate / 10))} }}"));
            }
        }
        if (endpoint is not null)
        {
            overlay.Add($"actor-throttle.endpoint = \"{endpoint}\"");
        }

        var config = ConfigurationFactory.ParseString(string.Join("\n", overlay))
            .WithFallback(ConfigurationFactory.ParseString(fileText));
        var settings = ActorThrottleSettings.FromConfig(config);
        var system = ActorSystem.Create("actor-throttle-batch", ConfigurationFactory.ParseString("""
            akka.loglevel = ERROR
            akka.stdout-loglevel = OFF
            akka.log-dead-letters = off
            akka.coordinated-shutdown.run-by-clr-shutdown-hook = off
            """));
        var engine = ActorThrottleEngine.Start(system, settings);
        return new BatchHost(system, engine, simulator);
    }

    public async ValueTask DisposeAsync()
    {
        await CoordinatedShutdown.Get(System).Run(CoordinatedShutdown.ClrExitReason.Instance).ConfigureAwait(false);
        if (Simulator is not null)
        {
            await Simulator.DisposeAsync().ConfigureAwait(false);
        }
    }
}
