using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using ActorThrottle.Backend;
using ActorThrottle.Diagnostics;
using ActorThrottle.Messages;
using ActorThrottle.Tests.Support;
using Serilog;
using Xunit;

namespace ActorThrottle.Tests.Engine;

/// <summary>Each rate change is logged once with its reason, counted by reason in the meter, and the status says how the rate was found.</summary>
public sealed class RateChangeExplainedSpec : EngineSpecBase
{
    [Fact]
    public async Task A_429_is_logged_once_old_to_new_with_its_reason_and_counted_by_reason()
    {
        var model = "explain-" + Guid.NewGuid().ToString("N")[..8];
        var counted = new ConcurrentQueue<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == ActorThrottleMetrics.MeterName && instrument.Name == "actor_throttle.rate.changes")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            var tagList = tags.ToArray();
            if (tagList.Any(t => t.Key == "model" && (string?)t.Value == model))
            {
                counted.Enqueue((string)tagList.Single(t => t.Key == "reason").Value!);
            }
        });
        listener.Start();
        var sink = new CapturingSink();
        var backend = new ScriptedBackend((r, n) => n == 1 ? ScriptedBackend.RateLimited() : ScriptedBackend.Success(r));
        var engine = StartEngine(backend, $"actor-throttle.models.{model} {{ requests-per-second = 100, max-burst = 8, adapt.cool-down = 10s }}",
            new LoggerConfiguration().MinimumLevel.Debug().WriteTo.Sink(sink).CreateLogger());

        await Ask<ChatSuccess>(engine, Request(model));

        var status = await engine.GetStatusAsync(model);
        Assert.Equal(4, status.Burst);
        Assert.Equal("configured", status.RateFoundBy);
        Assert.Equal(1, status.RateChanges);
        var lines = sink.Events.Where(e => e.MessageTemplate.Text.StartsWith("Rate of", StringComparison.Ordinal)).Select(e => e.RenderMessage()).ToList();
        var line = Assert.Single(lines);
        Assert.Contains("100/s burst 8 -> 100/s burst 4", line);
        Assert.Contains("RateLimited", line);
        Assert.Equal(["rate_limited"], counted);
    }

    [Fact]
    public async Task With_auto_the_status_says_probed_until_headers_advertise_a_limit()
    {
        var model = "auto-" + Guid.NewGuid().ToString("N")[..8];
        var advertised = new RateLimitInfo
        {
            Dialect = RateLimitDialect.IetfDraft7,
            Policies = [new RateLimitPolicy(null, 40, TimeSpan.FromSeconds(1))],
        };
        var backend = new ScriptedBackend((r, n) => r.RequestId.StartsWith("seed", StringComparison.Ordinal) ? ScriptedBackend.Success(r) with { RateLimits = advertised } : ScriptedBackend.Success(r));
        var engine = StartEngine(backend, $"actor-throttle.models.{model} {{ requests-per-second = auto }}");

        await Ask<ChatSuccess>(engine, Request(model));
        var before = await engine.GetStatusAsync(model);
        Assert.Equal("probed", before.RateFoundBy);
        Assert.Equal(5, before.Rate);

        // A seed follows the median of at least three readings.
        for (var i = 0; i < 3; i++)
        {
            await Ask<ChatSuccess>(engine, Request(model, id: "seed" + i));
        }
        var after = await engine.GetStatusAsync(model);
        Assert.Equal("seeded from headers", after.RateFoundBy);
        Assert.Equal(40, after.Rate);
    }
}
