using System.Diagnostics.Metrics;
using System.Globalization;

namespace ActorThrottle.Timeline;

/// <summary>
/// Fills a <see cref="RunTimeline"/> from one engine's <c>ActorThrottle</c> meter: every <c>actor_throttle.attempts</c>
/// measurement (tags <c>model</c>, <c>status</c>) counts in the second it was recorded, and the
/// <c>actor_throttle.rate</c> gauge is read once per <see cref="SampleInterval"/>. Listens to that meter instance only,
/// so two engines in one process do not mix. Dispose to stop.
/// </summary>
public sealed class TimelineRecorder : IDisposable
{
    public const string AttemptsInstrument = "actor_throttle.attempts";
    public const string RateInstrument = "actor_throttle.rate";

    /// <summary>How often the rate gauge is read.</summary>
    public static readonly TimeSpan SampleInterval = TimeSpan.FromMilliseconds(250);

    private readonly MeterListener _listener = new();
    private readonly TimeProvider _time;
    private readonly long _start;
    private readonly ITimer _sampler;

    /// <param name="meter">The engine's meter (<c>ActorThrottleMetrics.Meter</c>).</param>
    /// <param name="timeline">Where the seconds go.</param>
    /// <param name="time">The clock; the run's second 0 starts now.</param>
    public TimelineRecorder(Meter meter, RunTimeline timeline, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(meter);
        ArgumentNullException.ThrowIfNull(timeline);
        Timeline = timeline;
        _time = time ?? TimeProvider.System;
        _start = _time.GetTimestamp();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, meter) && instrument.Name is AttemptsInstrument or RateInstrument)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (instrument.Name == AttemptsInstrument && Tag(tags, "model") is { } model)
            {
                var status = int.TryParse(Tag(tags, "status"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) ? s : (int?)null;
                for (var i = 0; i < value; i++)
                {
                    Timeline.RecordAttempt(model, Second(), status);
                }
            }
        });
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            if (instrument.Name == RateInstrument && Tag(tags, "model") is { } model)
            {
                Timeline.RecordRate(model, Second(), value);
            }
        });
        _listener.Start();
        Sample();
        _sampler = _time.CreateTimer(_ => Sample(), null, SampleInterval, SampleInterval);
    }

    public RunTimeline Timeline { get; }

    /// <summary>Reads the rate gauge now (the sampler does this every <see cref="SampleInterval"/>; call it once more at the end).</summary>
    public void Sample() => _listener.RecordObservableInstruments();

    private int Second() => (int)Math.Floor(_time.GetElapsedTime(_start).TotalSeconds);

    private static string? Tag(ReadOnlySpan<KeyValuePair<string, object?>> tags, string key)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == key)
            {
                return tag.Value?.ToString();
            }
        }
        return null;
    }

    public void Dispose()
    {
        _sampler.Dispose();
        _listener.Dispose();
    }
}
