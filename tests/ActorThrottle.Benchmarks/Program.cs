using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using ActorThrottle.Simulator;
using Serilog;

namespace ActorThrottle.Benchmarks;

public static class Program
{
    /// <summary>The engines' logger: silent, or Debug to a file with <c>--engine-log FILE</c> (why each rate changed).</summary>
    public static Serilog.Core.Logger SilentLogger { get; private set; } = new LoggerConfiguration().MinimumLevel.Fatal().CreateLogger();

    public static async Task<int> Main(string[] args)
    {
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        Log.Logger = SilentLogger;
        string scenarioArg = "all", baselineArg = "all", outDir = "artifacts/bench", plotsDir = "docs/plots";
        var quick = false;
        var repeat = 1;
        bool? latencyOnly = null;
        var shapes = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var configs = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        string? reportFrom = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--scenario": scenarioArg = args[++i]; break;
                case "--baseline": baselineArg = args[++i]; break;
                case "--quick": quick = true; break;
                case "--shapes": shapes.UnionWith(args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)); break;
                case "--configs": configs.UnionWith(args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)); break;
                case "--latency": latencyOnly = args[++i] switch { "0" => false, "100-300" => true, "both" => null, var v => throw new ArgumentException($"--latency must be 0 or 100-300, was '{v}'") }; break;
                case "--repeat": repeat = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--report-from": reportFrom = args[++i]; break;
                case "--tuned": ActorThrottleBaseline.TunedKeys = args[++i]; break;
                case "--out": outDir = args[++i]; break;
                case "--plots": plotsDir = args[++i]; break;
                case "--engine-log":
                    SilentLogger = new LoggerConfiguration().MinimumLevel.Debug().WriteTo.File(args[++i], outputTemplate: "{Timestamp:HH:mm:ss.fff} {Level:u3} {Message:lj}{NewLine}{Exception}").CreateLogger();
                    Log.Logger = SilentLogger;
                    break;
                case "-h" or "--help":
                    Console.WriteLine("""
                        usage: ActorThrottle.Benchmarks [--scenario all|rate|1a,1b,2,3,4,5,6,7|overhead|scale|matrix|deployments] [--shapes a,b (matrix shapes, or deployments cases 20+5,failing,charged)] [--configs known,2x,10x,none] [--latency 0|100-300|both] [--repeat N] [--baseline all|seed-5,seed-50,sdk-50,polly,at-default,at-tuned] [--quick] [--tuned \"HOCON keys under defaults\"] [--out DIR] [--plots DIR] [--report-from DIR] [--engine-log FILE (engine logs at Debug)]
                        """);
                    return 0;
                default:
                    Console.Error.WriteLine($"unknown argument '{args[i]}' (try --help)");
                    return 2;
            }
        }
        Directory.CreateDirectory(outDir);
        Directory.CreateDirectory(plotsDir);
        var wanted = scenarioArg.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var all = wanted.Contains("all");
        var rateAll = all || wanted.Contains("rate");
        var baselines = Baseline.All().Where(b => baselineArg == "all" || baselineArg.Split(',').Contains(b.Name)).ToList();

        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"Run {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, .NET {Environment.Version}, quick = {quick}, at-tuned = `{ActorThrottleBaseline.TunedKeys}`, args: {string.Join(' ', args)}");
        md.AppendLine();
        var results = new List<RunResult>();
        if (reportFrom is not null)
        {
            // Re-make the tables and plots from the JSON of an earlier run (same --quick as that run).
            foreach (var scenario in Scenario.All(quick).Where(s => rateAll || wanted.Contains(s.Key)))
            {
                var runs = baselines.Select(b => Path.Combine(reportFrom, $"s{scenario.Key}-{b.Name}.json")).Where(File.Exists)
                    .Select(f => JsonSerializer.Deserialize<RunResult>(File.ReadAllText(f), JsonOptions)!).ToList();
                if (runs.Count == 0)
                {
                    continue;
                }
                md.Append(Report.ScenarioTable(scenario, runs, "(see the run's log)", "(see the run's log)"));
                if (scenario.Key is "2" or "3")
                {
                    Plots.Scenario(scenario, runs, plotsDir);
                }
            }
            Console.WriteLine(md.ToString());
            return 0;
        }
        foreach (var scenario in Scenario.All(quick).Where(s => rateAll || wanted.Contains(s.Key)))
        {
            var loadBefore = Load();
            Console.WriteLine($"== scenario {scenario.Key}: {scenario.Title} (cap {scenario.CapSeconds} s, load {loadBefore})");
            var scenarioResults = new List<RunResult>();
            foreach (var baseline in baselines)
            {
                var result = await RunOneAsync(scenario, baseline);
                scenarioResults.Add(result);
                Console.WriteLine("   " + result.OneLine());
                await File.WriteAllTextAsync(Path.Combine(outDir, $"s{scenario.Key}-{baseline.Name}.json"), JsonSerializer.Serialize(result, JsonOptions));
            }
            var loadAfter = Load();
            results.AddRange(scenarioResults);
            md.Append(Report.ScenarioTable(scenario, scenarioResults, loadBefore, loadAfter));
            if (scenario.Key is "2" or "3")
            {
                Plots.Scenario(scenario, scenarioResults, plotsDir);
            }
        }
        if (wanted.Contains("matrix"))
        {
            md.Append(await Matrix.RunAsync(quick, shapes, configs, latencyOnly, repeat, outDir, plotsDir, baselineArg));
        }
        if (all || wanted.Contains("overhead"))
        {
            md.Append(await Overhead.RunAsync(quick));
        }
        if (wanted.Contains("deployments"))
        {
            md.Append(await DeploymentsBench.RunAsync(quick, shapes));
        }
        if (all || wanted.Contains("scale"))
        {
            md.Append(await Scale.RunAsync(quick));
        }
        var text = md.ToString();
        Console.WriteLine();
        Console.WriteLine(text);
        await File.WriteAllTextAsync(Path.Combine(outDir, "results.md"), text);
        return 0;
    }

    internal static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    internal static string Load()
    {
        try
        {
            var parts = File.ReadAllText("/proc/loadavg").Split(' ');
            return $"{parts[0]} {parts[1]} {parts[2]}";
        }
        catch (IOException)
        {
            return "n/a";
        }
    }

    public static async Task<RunResult> RunOneAsync(Scenario scenario, Baseline baseline)
    {
        var simOptions = new SimulatorOptions
        {
            Models = scenario.Models.ToDictionary(m => m.Id, scenario.SimSettingsFor),
            UnknownModels = UnknownModelPolicy.Reject,
        };
        await using var sim = await SimulatedProvider.StartNewAsync(simOptions);
        var records = scenario.BuildBacklog().Select(w => new RequestRecord(w)).ToList();
        using var cap = new CancellationTokenSource(TimeSpan.FromSeconds(scenario.CapSeconds));
        // Settle before the clock starts: collect, and let the simulator's buckets fill.
        GC.Collect();
        await Task.Delay(300);
        sim.ResetStats();
        var startUnix = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        var clock = Stopwatch.StartNew();
        cap.CancelAfter(TimeSpan.FromSeconds(scenario.CapSeconds));
        var ctx = new RunContext { Scenario = scenario, Simulator = sim, Records = records, Cap = cap.Token, Clock = clock };
        Timer? drop = null;
        if (scenario.DropAt is { } at)
        {
            drop = new Timer(_ =>
            {
                foreach (var m in scenario.Models)
                {
                    sim.UpdateModelSettings(m.Id, s => s with { RequestsPerSecond = m.RealRps * scenario.DropFactor, RequestsPerSecondBurst = m.RealRps * scenario.DropFactor });
                }
            }, null, TimeSpan.FromSeconds(at), Timeout.InfiniteTimeSpan);
        }
        await baseline.RunAsync(ctx);
        var wall = clock.Elapsed.TotalSeconds;
        if (drop is not null)
        {
            await drop.DisposeAsync();
        }
        var stats = sim.GetStats();
        return RunResult.Build(scenario, baseline, records, stats, startUnix, wall, ctx.EngineSeries);
    }
}
