using System.Diagnostics.Metrics;
using ActorThrottle.Timeline;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace ActorThrottle.Demo.Tests;

public sealed class TimelineTests
{
    [Fact]
    public void Rows_count_attempts_by_outcome_fill_empty_seconds_and_carry_the_last_rate()
    {
        var timeline = new RunTimeline();
        timeline.RecordAttempt("m", 0, 200);
        timeline.RecordAttempt("m", 0, 429);
        timeline.RecordAttempt("m", 0, 503);
        timeline.RecordAttempt("m", 0, null);
        timeline.RecordRate("m", 0, 5);
        timeline.RecordRate("m", 0, 6);
        timeline.RecordAttempt("m", 3, 201);
        timeline.RecordAttempt("a", 1, 429);

        Assert.Equal(
        [
            new TimelineRow(1, "a", 1, 0, 1, null),
            new TimelineRow(0, "m", 4, 1, 1, 6),
            new TimelineRow(1, "m", 0, 0, 0, 6),
            new TimelineRow(2, "m", 0, 0, 0, 6),
            new TimelineRow(3, "m", 1, 1, 0, 6),
        ], timeline.Rows());
    }

    [Fact]
    public void A_negative_second_is_refused_naming_the_argument()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new RunTimeline().RecordAttempt("m", -1, 200));
        Assert.Equal("second", e.ParamName);
    }

    [Fact]
    public void Recorder_counts_attempts_in_the_second_they_are_recorded_and_samples_the_rate_gauge()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-06T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        using var meter = new Meter("ActorThrottle");
        using var other = new Meter("ActorThrottle");
        var attempts = meter.CreateCounter<long>(TimelineRecorder.AttemptsInstrument);
        var otherAttempts = other.CreateCounter<long>(TimelineRecorder.AttemptsInstrument);
        var rate = 12.5;
        meter.CreateObservableGauge(TimelineRecorder.RateInstrument, () => new Measurement<double>(rate, new KeyValuePair<string, object?>("model", "m")));
        using var recorder = new TimelineRecorder(meter, new RunTimeline(), time);

        attempts.Add(1, Model("m"), Status("200"));
        otherAttempts.Add(1, Model("m"), Status("200")); // another engine's meter: not ours
        Advance(time, 1200); // the sampler reads the gauge every 0.25 s
        attempts.Add(2, Model("m"), Status("429"));
        rate = 7;
        Advance(time, 1000);
        attempts.Add(1, Model("m"), Status("none"));

        Assert.Equal(
        [
            new TimelineRow(0, "m", 1, 1, 0, 12.5),
            new TimelineRow(1, "m", 2, 0, 2, 7), // the last read of a second wins
            new TimelineRow(2, "m", 1, 0, 0, 7),
        ], recorder.Timeline.Rows());
    }

    [Fact]
    public void Csv_has_one_line_per_model_second_in_invariant_numbers_and_quotes_odd_model_ids()
    {
        var csv = TimelineFiles.ToCsv(
        [
            new TimelineRow(0, "gpt-4.1", 10, 8, 2, 19.5),
            new TimelineRow(1, "odd,\"id\"", 0, 0, 0, null),
        ]);

        Assert.Equal(
            "second,model,attempts,accepted,rate_limited,engine_rate_per_s\n" +
            "0,gpt-4.1,10,8,2,19.5\n" +
            "1,\"odd,\"\"id\"\"\",0,0,0,\n", csv);
    }

    [Fact]
    public void Png_is_written_with_its_folder()
    {
        var dir = Directory.CreateTempSubdirectory("timeline-").FullName;
        try
        {
            var path = Path.Combine(dir, "sub", "run.png");
            TimelineFiles.SavePng([new TimelineRow(0, "m", 3, 2, 1, 4), new TimelineRow(1, "m", 4, 4, 0, null)], path, "t",
                new Dictionary<string, double> { ["m"] = 5 });
            var bytes = File.ReadAllBytes(path);
            Assert.True(bytes.Length > 1000);
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes.Take(4).ToArray());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Progress_rate_uses_the_window_and_gives_an_eta()
    {
        var rate = new ProgressRate(TimeSpan.FromSeconds(10));
        Assert.Equal(0, rate.Rate);
        Assert.Null(rate.Eta(100, 0));
        rate.Sample(TimeSpan.Zero, 0);
        rate.Sample(TimeSpan.FromSeconds(5), 50);
        Assert.Equal(10, rate.Rate, 9);
        Assert.Equal(TimeSpan.FromSeconds(5), rate.Eta(100, 50));
        Assert.Null(rate.Eta(-1, 50)); // total unknown
        // Samples older than the window drop out: the rate follows the last 10 s.
        rate.Sample(TimeSpan.FromSeconds(15), 60);
        rate.Sample(TimeSpan.FromSeconds(25), 70);
        Assert.Equal(1, rate.Rate, 9);
        Assert.Equal(TimeSpan.Zero, rate.Eta(70, 70));
        Assert.Equal("1:05", ProgressRate.Format(TimeSpan.FromSeconds(65)));
        Assert.Equal("2:00:00", ProgressRate.Format(TimeSpan.FromHours(2)));
    }

    private static void Advance(FakeTimeProvider time, int milliseconds)
    {
        for (var i = 0; i < milliseconds / 50; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(50));
        }
    }

    private static KeyValuePair<string, object?> Model(string m) => new("model", m);

    private static KeyValuePair<string, object?> Status(string s) => new("status", s);
}
