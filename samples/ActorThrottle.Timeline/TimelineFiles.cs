using System.Globalization;
using System.Text;

namespace ActorThrottle.Timeline;

/// <summary>Writes a <see cref="RunTimeline"/> as CSV (one row per model and second) and as a PNG (ScottPlot).</summary>
public static class TimelineFiles
{
    public const string CsvHeader = "second,model,attempts,accepted,rate_limited,engine_rate_per_s";

    /// <summary>The CSV text: <see cref="CsvHeader"/>, then the rows; numbers in the invariant culture, an unread rate left empty.</summary>
    public static string ToCsv(IReadOnlyList<TimelineRow> rows)
    {
        var text = new StringBuilder(CsvHeader).Append('\n');
        foreach (var r in rows)
        {
            text.Append(r.Second.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(Quote(r.Model)).Append(',')
                .Append(r.Attempts.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(r.Accepted.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(r.RateLimited.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(r.EngineRate is { } rate ? rate.ToString("0.###", CultureInfo.InvariantCulture) : "")
                .Append('\n');
        }
        return text.ToString();
    }

    /// <summary>
    /// One chart: per model (one colour each) accepted calls per second (solid), 429s per second (dotted) and the
    /// engine's rate (dashed), over seconds since the start; optionally the real limit per model (thin black).
    /// </summary>
    public static void SavePng(IReadOnlyList<TimelineRow> rows, string path, string title, IReadOnlyDictionary<string, double>? realLimits = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var i = 0;
        foreach (var model in rows.Select(r => r.Model).Distinct(StringComparer.Ordinal))
        {
            var points = rows.Where(r => r.Model == model).OrderBy(r => r.Second).ToList();
            // Plot each second's count at its middle.
            var xs = points.Select(p => p.Second + 0.5).ToArray();
            var color = palette.GetColor(i++);
            var accepted = plot.Add.ScatterLine(xs, points.Select(p => (double)p.Accepted).ToArray());
            accepted.LegendText = $"{model}: accepted/s";
            accepted.LineWidth = 2;
            accepted.MarkerSize = 0;
            accepted.LineColor = color;
            var rejected = plot.Add.ScatterLine(xs, points.Select(p => (double)p.RateLimited).ToArray());
            rejected.LegendText = $"{model}: 429s/s";
            rejected.LinePattern = ScottPlot.LinePattern.Dotted;
            rejected.MarkerSize = 0;
            rejected.LineColor = color;
            var rate = plot.Add.ScatterLine(xs, points.Select(p => p.EngineRate ?? double.NaN).ToArray());
            rate.LegendText = $"{model}: engine rate";
            rate.LinePattern = ScottPlot.LinePattern.Dashed;
            rate.MarkerSize = 0;
            rate.LineColor = color;
            if (realLimits?.GetValueOrDefault(model) is > 0 and var limit && xs.Length > 0)
            {
                var line = plot.Add.HorizontalLine(limit);
                line.LegendText = $"{model}: real limit";
                line.LineColor = ScottPlot.Colors.Black;
                line.LineWidth = 1;
            }
        }
        plot.Title(title);
        plot.XLabel("seconds since the first request");
        plot.YLabel("per second");
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(folder))
        {
            Directory.CreateDirectory(folder);
        }
        plot.SavePng(path, 1100, 550);
    }

    private static string Quote(string value) =>
        value.IndexOfAny([',', '"', '\n', '\r']) < 0 ? value : "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
