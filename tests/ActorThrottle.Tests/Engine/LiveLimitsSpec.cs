using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using ActorThrottle.Diagnostics;
using ActorThrottle.Limits;
using ActorThrottle.Messages;
using ActorThrottle.Models;
using ActorThrottle.Tests.Support;
using Akka.Actor;
using Serilog;
using Xunit;

namespace ActorThrottle.Tests.Engine;

/// <summary>
/// <c>SetLimitsAsync</c>: a message through the router to the model's supervisor, applied all or nothing, answered once,
/// never losing a request the model holds.
/// </summary>
public sealed class LiveLimitsSpec : EngineSpecBase
{
    [Fact]
    public async Task New_limits_reach_the_throttle_and_the_status_and_are_logged_and_counted_once_as_limits_set()
    {
        var model = "live-" + Guid.NewGuid().ToString("N")[..8];
        var counted = new ConcurrentQueue<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == ActorThrottleMetrics.MeterName && instrument.Name == "actor_throttle.rate.changes")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            var tagList = tags.ToArray();
            if (tagList.Any(t => t.Key == "model" && (string?)t.Value == model))
            {
                counted.Enqueue((string)tagList.Single(t => t.Key == "reason").Value!);
            }
        });
        listener.Start();
        var sink = new CapturingSink();
        var engine = StartEngine(ScriptedBackend.AlwaysSucceeds(),
            $"actor-throttle.models.{model} {{ requests-per-second = 100, max-burst = 8, max-in-flight = 6, tokens-per-minute = 0 }}",
            new LoggerConfiguration().MinimumLevel.Debug().WriteTo.Sink(sink).CreateLogger());
        await Ask<ChatSuccess>(engine, Request(model));

        var status = await engine.SetLimitsAsync(model, new ModelLimits { RequestsPerSecond = 20, MaxBurst = 3, MaxInFlight = 2, TokensPerMinute = 60_000 });

        Assert.Equal(20, status.Rate);
        Assert.Equal(3, status.Burst);
        Assert.Equal(2, status.InFlightLimit);
        Assert.Equal(60_000, status.TokensPerMinute);
        Assert.Equal(1, status.RateChanges);
        Assert.Equal("configured", status.RateFoundBy);
        Assert.Equal(new ModelLimits { RequestsPerSecond = 20, TokensPerMinute = 60_000, MaxBurst = 3, MinBurst = 1, MinRate = 0.1, MaxInFlight = 2, QueueSize = 1000 },
            status.Limits);
        Assert.Equal(status with { Recent = RecentAttempts.None }, (await engine.GetStatusAsync(model)) with { Recent = RecentAttempts.None });
        var line = Assert.Single(sink.Events.Where(e => e.MessageTemplate.Text.StartsWith("Rate of", StringComparison.Ordinal)).Select(e => e.RenderMessage()));
        Assert.Contains("100/s burst 8 -> 20/s burst 3, 60000 tokens/min (LimitsSet: requests-per-second 100 -> 20", line);
        Assert.Equal(["limits_set"], counted);
        // The model still works under them.
        await Ask<ChatSuccess>(engine, Request(model));
    }

    [Fact]
    public async Task Limits_changed_while_the_queue_is_full_lose_nothing_and_every_request_is_answered_exactly_once()
    {
        var firstCalls = new TaskCompletionSource();
        var inFlight = 0;
        var lateMaxInFlight = 0;
        var backend = new ScriptedBackend(async (r, _, _) =>
        {
            var now = Interlocked.Increment(ref inFlight);
            try
            {
                if (r.RequestId.StartsWith("late", StringComparison.Ordinal))
                {
                    InterlockedMax(ref lateMaxInFlight, now);
                    await Task.Delay(20);
                }
                else
                {
                    await firstCalls.Task;
                }
                return ScriptedBackend.Success(r);
            }
            finally
            {
                Interlocked.Decrement(ref inFlight);
            }
        });
        var engine = StartEngine(backend, "actor-throttle.defaults { queue-size = 6, max-in-flight = 3 }");
        var (collector, replies) = ReplyCollector.Start(Sys);
        // 3 in flight (held), 3 queued: the model is full.
        var ids = new[] { "first0", "first1", "first2", "late0", "late1", "late2" };
        foreach (var id in ids)
        {
            engine.Router.Tell(Request(id: id), collector);
        }
        await AwaitConditionAsync(async () => (await engine.GetStatusAsync("m")).Pending == 6 && backend.TotalCalls == 3);
        engine.Router.Tell(Request(id: "overflow-before"), collector);

        var status = await engine.SetLimitsAsync("m", new ModelLimits { QueueSize = 4, MaxInFlight = 1, RequestsPerSecond = 200, MaxBurst = 2 });
        Assert.Equal(6, status.Pending);
        Assert.Equal(1, status.InFlightLimit);
        // Still above the new queue-size: turned away, while everything held stays.
        engine.Router.Tell(Request(id: "overflow-after"), collector);
        await AwaitConditionAsync(() => Task.FromResult(replies.ContainsKey("overflow-after")));
        Assert.Equal(6, (await engine.GetStatusAsync("m")).Pending);

        firstCalls.SetResult();
        await AwaitConditionAsync(() => Task.FromResult(ids.All(replies.ContainsKey)), TimeSpan.FromSeconds(20));
        await Task.Delay(200);

        Assert.All(ids, id => Assert.IsType<ChatSuccess>(Assert.Single(replies[id])));
        Assert.Equal(FailureReason.QueueFull, Assert.IsType<ChatFailure>(Assert.Single(replies["overflow-before"])).Reason);
        var after = Assert.IsType<ChatFailure>(Assert.Single(replies["overflow-after"]));
        Assert.Equal(FailureReason.QueueFull, after.Reason);
        Assert.Contains("4 requests (queue-size)", after.Message);
        Assert.Equal(8, replies.Count);
        Assert.All(ids, id => Assert.Equal(1, backend.CallsFor(id)));
        // The queued requests went out one at a time under the new max-in-flight.
        Assert.Equal(1, lateMaxInFlight);
        Assert.Equal(0, (await engine.GetStatusAsync("m")).Pending);
    }

    [Fact]
    public async Task An_unknown_model_an_invalid_value_or_a_pipeline_larger_than_built_is_rejected_naming_the_field_and_nothing_changes()
    {
        var engine = StartEngine(ScriptedBackend.AlwaysSucceeds(),
            "actor-throttle { unknown-models = reject, models.known { requests-per-second = 50, max-in-flight = 4, queue-size = 100 } }");
        await Ask<ChatSuccess>(engine, Request("known"));
        var before = await engine.GetStatusAsync("known");

        var unknown = await Assert.ThrowsAsync<ArgumentException>(() => engine.SetLimitsAsync("knowm", new ModelLimits { MaxBurst = 2 }));
        Assert.Equal("model", unknown.ParamName);
        Assert.Contains("Did you mean 'known'?", unknown.Message);

        var invalid = await Assert.ThrowsAsync<ArgumentException>(() => engine.SetLimitsAsync("known", new ModelLimits { RequestsPerSecond = 10, MaxBurst = 0 }));
        Assert.Equal("max-burst", invalid.ParamName);
        Assert.StartsWith("Invalid limit max-burst (ModelLimits.MaxBurst) = 0: must be at least 1.", invalid.Message);

        var conflict = await Assert.ThrowsAsync<ArgumentException>(() => engine.SetLimitsAsync("known", new ModelLimits { RequestsPerSecond = 10, MinRate = 20 }));
        Assert.Equal("min-rate", conflict.ParamName);

        var tooWide = await Assert.ThrowsAsync<ArgumentException>(() => engine.SetLimitsAsync("known", new ModelLimits { RequestsPerSecond = 10, MaxInFlight = 5 }));
        Assert.Equal("max-in-flight", tooWide.ParamName);
        Assert.Contains("cannot be raised live above 4", tooWide.Message);

        // All or nothing: the valid fields sent with an invalid one were not applied.
        var after = await engine.GetStatusAsync("known");
        Assert.Equal(before.Rate, after.Rate);
        Assert.Equal(before.Limits, after.Limits);
        Assert.Equal(0, after.RateChanges);

        // A raw Ask gets exactly one reply, also for a message the router answers itself.
        var blank = await engine.Router.Ask<ModelLimitsReply>(new SetModelLimits(" ", new ModelLimits()), TimeSpan.FromSeconds(5));
        Assert.Equal("model", Assert.IsType<ModelLimitsRejected>(blank).Field);
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task A_configured_model_that_has_not_started_is_started_with_the_limits_and_keeps_them()
    {
        var backend = ScriptedBackend.AlwaysSucceeds();
        var engine = StartEngine(backend, "actor-throttle.models.later { requests-per-second = 50 }");

        var status = await engine.SetLimitsAsync("later", new ModelLimits { RequestsPerSecond = 7 });
        Assert.Equal(7, status.Rate);
        Assert.Equal(0, backend.TotalCalls);

        await Ask<ChatSuccess>(engine, Request("later"));
        Assert.Equal(7, (await engine.GetStatusAsync("later")).Limits!.RequestsPerSecond);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while (value > (seen = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
