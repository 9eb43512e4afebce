using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using ActorThrottle.Backend;
using ActorThrottle.Configuration;
using ActorThrottle.Messages;
using Akka.Actor;
using Akka.Configuration;
using AtModelSettings = ActorThrottle.Configuration.ModelSettings;

namespace ActorThrottle.Benchmarks;

/// <summary>A backend that answers success at once, without I/O.</summary>
public sealed class InstantBackend : IChatBackend, IChatBackendFactory
{
    private static readonly Task<BackendResponse> Done = Task.FromResult(new BackendResponse(OutcomeKind.Success)
    {
        StatusCode = 200, Content = "ok", FinishReason = "stop", ModelUsed = "m", RawJson = "{}",
    });

    public Task<BackendResponse> SendAsync(ChatRequest request, CancellationToken cancellationToken) => Done;

    public IChatBackend Create(AtModelSettings settings) => this;
}

/// <summary>A backend whose calls never complete (until the token is cancelled); records when each model first called.</summary>
public sealed class NeverBackend : IChatBackend, IChatBackendFactory
{
    public ConcurrentDictionary<string, long> FirstCall { get; } = new(StringComparer.Ordinal);

    public Task<BackendResponse> SendAsync(ChatRequest request, CancellationToken cancellationToken)
    {
        FirstCall.TryAdd(request.Model, Stopwatch.GetTimestamp());
        var tcs = new TaskCompletionSource<BackendResponse>(TaskCreationOptions.RunContinuationsAsynchronously);
        return tcs.Task;
    }

    public IChatBackend Create(AtModelSettings settings) => this;
}

internal static class EngineHost
{
    public static ActorSystem NewSystem(string name) => ActorSystem.Create(name, ConfigurationFactory.ParseString("""
        akka {
          loglevel = WARNING
          stdout-loglevel = OFF
          loggers = ["Akka.Logger.Serilog.SerilogLogger, Akka.Logger.Serilog"]
          log-dead-letters = off
          log-dead-letters-during-shutdown = off
        }
        """));
}

/// <summary>
/// Engine overhead: requests through router → supervisor → ModelActor → throttle → in-memory backend, against the
/// same backend called directly behind a SemaphoreSlim. Stopwatch + process CPU time + GC.GetTotalAllocatedBytes,
/// after a warm-up; requests are issued in waves of <c>window</c> outstanding asks.
/// </summary>
public static class Overhead
{
    public static async Task<string> RunAsync(bool quick)
    {
        var total = quick ? 100_000 : 400_000;
        const int window = 5_000;
        var sb = new StringBuilder();
        var load = Program.Load();
        Console.WriteLine($"== overhead ({total} requests, waves of {window}; load {load})");
        var backend = new InstantBackend();
        var messages = new List<ChatMessage> { ChatMessage.User("hi") };

        var direct = await MeasureAsync("direct: SemaphoreSlim(64) + backend", total, window, async () =>
        {
            var gate = new SemaphoreSlim(64);
            return async (int i) =>
            {
                await gate.WaitAsync();
                try
                {
                    await backend.SendAsync(new ChatRequest("m", messages) { RequestId = i.ToString(CultureInfo.InvariantCulture) }, CancellationToken.None);
                }
                finally
                {
                    gate.Release();
                }
            };
        }, () => Task.CompletedTask);

        ActorSystem? system = null;
        var engineResult = await MeasureAsync("ActorThrottle: CompleteAsync → router → ModelActor → throttle → backend", total, window, () =>
        {
            system = EngineHost.NewSystem("overhead");
            var settings = ActorThrottleSettings.Parse("""
                actor-throttle {
                  endpoint = "http://127.0.0.1:1/v1"
                  api-key = "sk-bench"
                  defaults { requests-per-second = 10000000, max-burst = 100000, max-in-flight = 64, queue-size = 1000000 }
                }
                """);
            var engine = ActorThrottleEngine.Start(system, settings, new ThrottleEnvironment { BackendFactory = backend, Logger = Program.SilentLogger });
            return Task.FromResult<Func<int, Task>>(async i =>
            {
                var reply = await engine.CompleteAsync(new ChatRequest("m", messages) { RequestId = i.ToString(CultureInfo.InvariantCulture) });
                if (reply is not ChatSuccess)
                {
                    throw new InvalidOperationException($"unexpected reply {reply}");
                }
            });
        }, async () => await system!.Terminate());

        sb.AppendLine("### Engine overhead (in-memory backend)");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"{total:N0} requests after a warm-up of {total / 4:N0}, issued in waves of {window:N0} concurrent asks; one model; rate 10M/s, max-burst 100k, max-in-flight 64 (the throttle never holds anything back). Load average before: {load}, after: {Program.Load()}. CPU is the whole process's (all threads), so it includes Akka's dispatcher and the GC.");
        sb.AppendLine();
        sb.AppendLine("| path | requests/s | CPU µs/request | bytes allocated/request | Gen0/1/2 GCs |");
        sb.AppendLine("|---|---|---|---|---|");
        foreach (var r in new[] { direct, engineResult })
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {r.Name} | {r.PerSecond:N0} | {r.CpuMicros:0.0} | {r.BytesPerRequest:N0} | {r.Gcs} |");
        }
        sb.AppendLine();
        return sb.ToString();
    }

    private sealed record Measurement(string Name, double PerSecond, double CpuMicros, double BytesPerRequest, string Gcs);

    private static async Task<Measurement> MeasureAsync(string name, int total, int window, Func<Task<Func<int, Task>>> setup, Func<Task> teardown)
    {
        var call = await setup();
        await WavesAsync(call, total / 4, window, 0); // warm-up (JIT, actor creation, pools)
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var process = Process.GetCurrentProcess();
        process.Refresh();
        var cpu0 = process.TotalProcessorTime;
        var alloc0 = GC.GetTotalAllocatedBytes(precise: true);
        var gc0 = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        var sw = Stopwatch.StartNew();
        await WavesAsync(call, total, window, total);
        sw.Stop();
        process.Refresh();
        var cpu = (process.TotalProcessorTime - cpu0).TotalMicroseconds;
        var alloc = GC.GetTotalAllocatedBytes(precise: true) - alloc0;
        var gcs = $"{GC.CollectionCount(0) - gc0.Item1}/{GC.CollectionCount(1) - gc0.Item2}/{GC.CollectionCount(2) - gc0.Item3}";
        await teardown();
        var m = new Measurement(name, total / sw.Elapsed.TotalSeconds, cpu / total, (double)alloc / total, gcs);
        Console.WriteLine($"   {m}");
        return m;
    }

    private static async Task WavesAsync(Func<int, Task> call, int count, int window, int offset)
    {
        var tasks = new Task[window];
        for (var start = 0; start < count; start += window)
        {
            var n = Math.Min(window, count - start);
            for (var i = 0; i < n; i++)
            {
                tasks[i] = call(offset + start + i);
            }
            await Task.WhenAll(tasks.AsSpan(0, n));
        }
    }
}

internal sealed class Blackhole : ReceiveActor
{
    public Blackhole() => ReceiveAny(_ => { });
}

/// <summary>
/// Scale: many models and a large queued backlog that never drains (a backend that never answers, a very low
/// rate), memory per queued request by GC.GetTotalMemory(true) before and after; and the time from the first
/// send until every model's actor has made its first backend call.
/// </summary>
public static class Scale
{
    public static async Task<string> RunAsync(bool quick)
    {
        var models = 1_000;
        var requests = quick ? 100_000 : 1_000_000;
        var load = Program.Load();
        Console.WriteLine($"== scale ({models} models, {requests} queued; load {load})");
        var backend = new NeverBackend();
        var system = EngineHost.NewSystem("scale");
        var sb = new StringBuilder();
        try
        {
            var settings = ActorThrottleSettings.Parse($$"""
                actor-throttle {
                  endpoint = "http://127.0.0.1:1/v1"
                  api-key = "sk-bench"
                  request-timeout = 1h
                  unknown-models = create
                  defaults { requests-per-second = 0.001, min-rate = 0.001, max-burst = 1, max-in-flight = 1, queue-size = {{requests / models + 10}} }
                }
                """);
            var ids = Enumerable.Range(0, models).Select(i => $"model-{i:D4}").ToArray();
            var messages = new List<ChatMessage> { ChatMessage.User("hi") };
            // First, on an engine of its own: the same backlog sent with Tell and one reply-collecting actor (the batch
            // sample's pattern), so no caller-side Ask machinery is in the figure.
            var (tellPerRequest, tellHeld) = await TellBacklogAsync(settings, ids, messages, requests / models);
            Console.WriteLine($"   Tell: {tellPerRequest:0} bytes/request, {tellHeld} held");

            var engine = ActorThrottleEngine.Start(system, settings, new ThrottleEnvironment { BackendFactory = backend, Logger = Program.SilentLogger });

            // Bring-up: one request per model, time until every model's actor has called the backend.
            var start = Stopwatch.GetTimestamp();
            var tasks = new List<Task<ChatReply>>(requests);
            foreach (var id in ids)
            {
                tasks.Add(engine.CompleteAsync(new ChatRequest(id, messages) { RequestId = id + "-first" }));
            }
            while (backend.FirstCall.Count < models && Stopwatch.GetElapsedTime(start) < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(5);
            }
            var bringUp = backend.FirstCall.Count == models ? backend.FirstCall.Values.Max() : Stopwatch.GetTimestamp();
            var bringUpSeconds = Stopwatch.GetElapsedTime(start, bringUp).TotalSeconds;
            Console.WriteLine($"   {backend.FirstCall.Count} models up in {bringUpSeconds:0.000} s");

            // Payload built first and kept alive: it is in both measurements.
            var perModel = requests / models;
            var payload = new ChatRequest[perModel * models];
            for (var i = 0; i < payload.Length; i++)
            {
                payload[i] = new ChatRequest(ids[i % models], messages) { RequestId = string.Create(CultureInfo.InvariantCulture, $"q{i}") };
            }
            var replies = new Task<ChatReply>[payload.Length];

            // The floor: the same asks to an actor that never answers (what any Ask-based API costs the caller).
            var blackhole = system.ActorOf(Props.Create(() => new Blackhole()), "blackhole");
            var floorBefore = GC.GetTotalMemory(forceFullCollection: true);
            for (var i = 0; i < payload.Length; i++)
            {
                replies[i] = blackhole.Ask<ChatReply>(payload[i], timeout: null);
            }
            await Task.Delay(500);
            var askFloor = (GC.GetTotalMemory(forceFullCollection: true) - floorBefore) / (double)payload.Length;
            Console.WriteLine($"   Ask alone: {askFloor:0} bytes/request");
            Array.Clear(replies);
            system.Stop(blackhole);

            var before = GC.GetTotalMemory(forceFullCollection: true);
            var sw = Stopwatch.StartNew();
            for (var i = 0; i < payload.Length; i++)
            {
                replies[i] = engine.CompleteAsync(payload[i]);
            }
            var submitSeconds = sw.Elapsed.TotalSeconds;
            // Wait until the models hold everything (pending = queued + in flight).
            long pending = 0;
            while (sw.Elapsed < TimeSpan.FromSeconds(300))
            {
                pending = 0;
                foreach (var id in ids)
                {
                    pending += (await engine.GetStatusAsync(id, TimeSpan.FromSeconds(30))).Pending;
                }
                if (pending >= payload.Length + models)
                {
                    break;
                }
                await Task.Delay(200);
            }
            var acceptedSeconds = sw.Elapsed.TotalSeconds;
            var after = GC.GetTotalMemory(forceFullCollection: true);
            var answeredEarly = replies.Count(r => r.IsCompleted);
            var perRequest = (after - before) / (double)payload.Length;
            Console.WriteLine($"   pending {pending}, {perRequest:0} bytes/request, answered early {answeredEarly}");
            GC.KeepAlive(payload);
            GC.KeepAlive(replies);
            sb.AppendLine("### Scale: many models, large queued backlog");
            sb.AppendLine();
            sb.AppendLine(CultureInfo.InvariantCulture, $"{models:N0} models (created on first use from `defaults`), {payload.Length:N0} queued requests ({perModel:N0} per model) that never drain (rate 0.001/s, a backend that never answers). Load average before: {load}, after: {Program.Load()}.");
            sb.AppendLine();
            sb.AppendLine("| figure | value | target |");
            sb.AppendLine("|---|---|---|");
            sb.AppendLine(CultureInfo.InvariantCulture, $"| time from first send until all {models:N0} ModelActors have called the backend | {bringUpSeconds:0.000} s | < 1 s |");
            sb.AppendLine(CultureInfo.InvariantCulture, $"| memory per queued request (GC.GetTotalMemory(true) after − before, ÷ requests; payload excluded, the caller's Ask task included) | {perRequest:N0} bytes | ≤ 1,024 bytes |");
            sb.AppendLine(CultureInfo.InvariantCulture, $"| of which the caller's Ask alone (same asks to an actor that never answers) | {askFloor:N0} bytes | |");
            sb.AppendLine(CultureInfo.InvariantCulture, $"| held by the engine (the difference) | {perRequest - askFloor:N0} bytes | |");
            sb.AppendLine(CultureInfo.InvariantCulture, $"| memory per queued request sent with Tell to one collector actor (a fresh engine; payload excluded) | {tellPerRequest:N0} bytes ({tellHeld:N0} held) | ≤ 1,024 bytes |");
            sb.AppendLine(CultureInfo.InvariantCulture, $"| heap before / after | {before / 1048576.0:N0} MB / {after / 1048576.0:N0} MB | |");
            sb.AppendLine(CultureInfo.InvariantCulture, $"| time to submit / until all were held by the models | {submitSeconds:0.0} s / {acceptedSeconds:0.0} s | |");
            sb.AppendLine(CultureInfo.InvariantCulture, $"| requests held (status Pending, summed) / answered before the end (should be 0) | {pending:N0} / {answeredEarly:N0} | |");
            sb.AppendLine();
        }
        finally
        {
            await system.Terminate().WaitAsync(TimeSpan.FromSeconds(60)).ContinueWith(_ => { });
        }
        return sb.ToString();
    }

    /// <summary>Bytes per queued request when the caller uses Tell with one collector actor, on a fresh actor system.</summary>
    private static async Task<(double PerRequest, long Held)> TellBacklogAsync(ActorThrottleSettings settings, string[] ids, List<ChatMessage> messages, int perModel)
    {
        var system = EngineHost.NewSystem("scale-tell");
        try
        {
            var engine = ActorThrottleEngine.Start(system, settings, new ThrottleEnvironment { BackendFactory = new NeverBackend(), Logger = Program.SilentLogger });
            var collector = system.ActorOf(Props.Create(() => new Blackhole()), "collector");
            // Models up and each holding its first (in-flight) request before the baseline, as in the Ask measurement.
            foreach (var id in ids)
            {
                engine.Router.Tell(new ChatRequest(id, messages) { RequestId = id + "-first" }, collector);
            }
            var payload = new ChatRequest[perModel * ids.Length];
            for (var i = 0; i < payload.Length; i++)
            {
                payload[i] = new ChatRequest(ids[i % ids.Length], messages) { RequestId = string.Create(CultureInfo.InvariantCulture, $"t{i}") };
            }
            await Task.Delay(1000);
            var before = GC.GetTotalMemory(forceFullCollection: true);
            for (var i = 0; i < payload.Length; i++)
            {
                engine.Router.Tell(payload[i], collector);
            }
            long pending = 0;
            var sw = Stopwatch.StartNew();
            while (sw.Elapsed < TimeSpan.FromSeconds(300))
            {
                pending = 0;
                foreach (var id in ids)
                {
                    pending += (await engine.GetStatusAsync(id, TimeSpan.FromSeconds(30))).Pending;
                }
                if (pending >= payload.Length + ids.Length)
                {
                    break;
                }
                await Task.Delay(200);
            }
            var after = GC.GetTotalMemory(forceFullCollection: true);
            GC.KeepAlive(payload);
            return ((after - before) / (double)payload.Length, pending - ids.Length);
        }
        finally
        {
            await system.Terminate().WaitAsync(TimeSpan.FromSeconds(60)).ContinueWith(_ => { });
        }
    }
}
