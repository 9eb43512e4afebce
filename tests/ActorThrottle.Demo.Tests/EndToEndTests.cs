using System.Diagnostics;
using System.Text.Json;
using Spectre.Console;
using Xunit;

namespace ActorThrottle.Demo.Tests;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LoopbackCollection
{
    public const string Name = "demo-loopback";
}

[Collection(LoopbackCollection.Name)]
public sealed class EndToEndTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("actor-throttle-demo-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // Fast limits: the simulator's real limit is still below what the HOCON claims, so 429s and retries happen.
    private const string FastConfig = """
        actor-throttle {
          request-timeout = 2s
          defaults.retry { base-delay = 50ms, max-delay = 500ms }
          models {
            "fast-a" { requests-per-second = 400, max-burst = 20, max-in-flight = 16 }
            "fast-b" { requests-per-second = 300, max-burst = 10, max-in-flight = 16 }
          }
        }
        demo {
          plain-interval = 200ms
          simulator.models {
            "fast-a" { requests-per-second = 200, burst = 10, latency = 2ms, latency-jitter = 2ms, header-mode = none }
            "fast-b" { requests-per-second = 150, burst = 5, latency = 2ms, latency-jitter = 2ms, header-mode = full }
          }
        }
        """;

    private static (IAnsiConsole Console, StringWriter Writer) Console()
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = 160;
        return (console, writer);
    }

    [Fact]
    public async Task Run_against_the_simulator_answers_every_request_and_writes_the_json()
    {
        var config = Path.Combine(_dir, "fast.conf");
        await File.WriteAllTextAsync(config, FastConfig);
        var json = Path.Combine(_dir, "report.json");
        var csv = Path.Combine(_dir, "seconds.csv");
        var png = Path.Combine(_dir, "plots", "seconds.png");
        var (console, output) = Console();
        var errors = new StringWriter();
        var runner = new DemoRunner(console, errors, live: false);

        var watch = Stopwatch.StartNew();
        var exit = await runner.RunAsync(new DemoOptions { ConfigFile = config, Requests = 120, JsonFile = json, CsvFile = csv, PlotFile = png });
        watch.Stop();

        Assert.True(exit == ExitCodes.Ok, $"exit {exit}; stderr: {errors}\n{output}");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
        var report = runner.Report!;
        Assert.Equal(120, report.Requests);
        Assert.Equal(120, report.Answered);
        Assert.Equal(["fast-a", "fast-b"], report.Models.Select(m => m.Model));
        foreach (var m in report.Models)
        {
            Assert.Equal(60, m.Requests);
            Assert.Equal(m.Requests, m.Successes + m.Failures.Values.Sum());
            Assert.Equal(0, m.Unanswered);
            Assert.True(m.Attempts >= m.Successes);
            Assert.NotNull(m.RealLimit);
            Assert.NotNull(m.GoodputToLimit);
        }
        Assert.Contains("fast-a", output.ToString());
        Assert.Contains("answered in", output.ToString());

        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        Assert.Equal("simulator", doc.RootElement.GetProperty("mode").GetString());
        Assert.Equal(120, doc.RootElement.GetProperty("answered").GetInt32());
        Assert.Equal(2, doc.RootElement.GetProperty("models").GetArrayLength());

        // The per-second CSV accounts for every attempt and every accepted call the report counted, per model.
        var lines = (await File.ReadAllLinesAsync(csv)).ToList();
        Assert.Equal(ActorThrottle.Timeline.TimelineFiles.CsvHeader, lines[0]);
        var rows = lines.Skip(1).Select(l => l.Split(',')).ToList();
        foreach (var m in report.Models)
        {
            var mine = rows.Where(r => r[1] == m.Model).ToList();
            Assert.Equal(m.Attempts, mine.Sum(r => long.Parse(r[2], System.Globalization.CultureInfo.InvariantCulture)));
            Assert.Equal(m.Successes, mine.Sum(r => long.Parse(r[3], System.Globalization.CultureInfo.InvariantCulture)));
            Assert.Equal(m.RateLimited, mine.Sum(r => long.Parse(r[4], System.Globalization.CultureInfo.InvariantCulture)));
        }
        var pngBytes = await File.ReadAllBytesAsync(png);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, pngBytes.Take(4).ToArray());
    }

    [Fact]
    public async Task Streamed_and_prioritised_run_answers_every_request_and_reports_first_chunks_and_lanes()
    {
        var config = Path.Combine(_dir, "fast.conf");
        await File.WriteAllTextAsync(config, FastConfig);
        var (console, output) = Console();
        var errors = new StringWriter();
        var runner = new DemoRunner(console, errors, live: false);

        var exit = await runner.RunAsync(new DemoOptions { ConfigFile = config, Requests = 80, Stream = true, Priority = true });

        Assert.True(exit == ExitCodes.Ok, $"exit {exit}; stderr: {errors}\n{output}");
        var report = runner.Report!;
        Assert.Equal(80, report.Answered);
        foreach (var m in report.Models)
        {
            Assert.Equal(40, m.Successes);
            Assert.Equal(40, m.FirstChunk!.Samples);
            Assert.True(m.ChunksPerAnswer >= 1);
            Assert.Equal(10, m.EndToEndByLane!["interactive"].Samples);
            Assert.Equal(30, m.EndToEndByLane["batch"].Samples);
        }
        Assert.Contains("streamed answer demo-", output.ToString());
        Assert.Contains("interactive e2e p50", output.ToString());
    }

    [Fact]
    public async Task Unreachable_endpoint_fails_fast_naming_it()
    {
        var (console, _) = Console();
        var errors = new StringWriter();
        var runner = new DemoRunner(console, errors, live: false);
        var config = Path.Combine(_dir, "keyed.conf");
        await File.WriteAllTextAsync(config, "actor-throttle.api-key = \"k\"\n"); // bound to the --endpoint URL
        var watch = Stopwatch.StartNew();
        var exit = await runner.RunAsync(new DemoOptions { ConfigFile = config, Endpoint = new Uri("http://127.0.0.1:1/v1"), Requests = 5 });
        Assert.Equal(ExitCodes.Unreachable, exit);
        Assert.Contains("http://127.0.0.1:1/v1", errors.ToString());
        Assert.Contains("unreachable", errors.ToString());
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10));
    }

    [Theory]
    [InlineData("https://gateway.example/v1", "actor-throttle.api-key", "OPENAI_API_KEY is set but is sent only to https://api.openai.com")]
    [InlineData("http://127.0.0.1:1/v1", "actor-throttle.api-key", "allow-unauthenticated = on")]
    public async Task An_endpoint_without_a_key_bound_to_its_host_exits_3_before_anything_is_sent(string endpoint, string path, string advice)
    {
        var (console, _) = Console();
        var errors = new StringWriter();
        var runner = new DemoRunner(console, errors, live: false) { Environment = name => name == "OPENAI_API_KEY" ? "sk-openai-DEMO" : null };
        var exit = await runner.RunAsync(new DemoOptions { Endpoint = new Uri(endpoint), Requests = 5 });
        Assert.Equal(ExitCodes.BadConfiguration, exit);
        Assert.Contains(path, errors.ToString());
        Assert.Contains(advice, errors.ToString());
        Assert.DoesNotContain("sk-openai-DEMO", errors.ToString());
    }

    [Fact]
    public async Task Invalid_configuration_exits_with_the_path()
    {
        var config = Path.Combine(_dir, "bad.conf");
        await File.WriteAllTextAsync(config, "actor-throttle.defaults.min-rate = -1\n");
        var (console, _) = Console();
        var errors = new StringWriter();
        var exit = await new DemoRunner(console, errors, live: false).RunAsync(new DemoOptions { ConfigFile = config });
        Assert.Equal(ExitCodes.BadConfiguration, exit);
        Assert.Contains("actor-throttle.defaults.min-rate", errors.ToString());
    }

    [Fact]
    public async Task Transient_failures_only_are_reported_as_an_unreachable_endpoint()
    {
        // A listener that accepts, reads the request and resets the connection: the TCP probe passes, every call fails
        // as a transient error.
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        using var stop = new CancellationTokenSource();
        var accept = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var socket = await listener.AcceptSocketAsync(stop.Token);
                    _ = Task.Run(async () =>
                    {
                        using (socket)
                        {
                            try
                            {
                                await socket.ReceiveAsync(new byte[4096], System.Net.Sockets.SocketFlags.None, stop.Token);
                            }
                            catch (Exception)
                            {
                                // closed by the probe or the test
                            }
                            socket.Close(0);
                        }
                    });
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        });
        var config = Path.Combine(_dir, "closing.conf");
        await File.WriteAllTextAsync(config, """
            actor-throttle.defaults.retry { max-attempts = 2, base-delay = 10ms, max-delay = 20ms }
            actor-throttle.allow-unauthenticated = on
            """);
        var (console, _) = Console();
        var errors = new StringWriter();
        var exit = await new DemoRunner(console, errors, live: false)
            .RunAsync(new DemoOptions { ConfigFile = config, Endpoint = new Uri($"http://127.0.0.1:{port}/v1"), Requests = 4, Models = ["m"] });
        stop.Cancel();
        await accept;
        Assert.Equal(ExitCodes.Unreachable, exit);
        Assert.Contains($"127.0.0.1:{port}/v1 looks unreachable", errors.ToString());
    }

    [Fact]
    public async Task A_run_over_two_simulated_deployments_reports_each_deployments_share()
    {
        var config = Path.Combine(_dir, "fast.conf");
        await File.WriteAllTextAsync(config, FastConfig);
        var (console, output) = Console();
        var errors = new StringWriter();
        var runner = new DemoRunner(console, errors, live: false);

        var exit = await runner.RunAsync(new DemoOptions { ConfigFile = config, Requests = 50, Models = ["fast-a"], Deployments = 2 });

        Assert.True(exit == ExitCodes.Ok, $"exit {exit}; stderr: {errors}\n{output}");
        var model = Assert.Single(runner.Report!.Models);
        Assert.Equal(50, model.Successes);
        Assert.Equal(25, model.RealLimit);
        Assert.Equal(["sim-0", "sim-1"], model.Deployments!.Select(d => d.Name));
        Assert.Equal(50, model.Deployments!.Sum(d => d.Successes));
        Assert.Equal(1.0, model.Deployments!.Sum(d => d.Share), 2);
        Assert.True(model.Attempts >= 50);   // counted under the deployments' ids, summed for the model
        Assert.Contains("fast-a: deployments", output.ToString());
    }
}
