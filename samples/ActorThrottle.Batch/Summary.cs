using System.Globalization;
using System.Text;
using Sim = ActorThrottle.Simulator;

namespace ActorThrottle.Batch;

/// <summary>The text printed at the end of a run.</summary>
public static class Summary
{
    public static string Describe(BatchResult result, BatchOptions options, Sim.SimulatedProvider? simulator)
    {
        var c = result.Counters;
        var s = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        s.AppendLine(result.Interrupted
            ? $"Interrupted after {Time(result.Duration)}: {c.Interrupted} request(s) in flight were withdrawn and not written. Re-run the same command to resume."
            : $"Finished in {Time(result.Duration)}.");
        s.AppendLine(string.Create(inv, $"  input lines read      {c.Read:N0}"));
        s.AppendLine(string.Create(inv, $"  succeeded (this run)  {c.Succeeded:N0}"));
        s.AppendLine(string.Create(inv, $"  failed (this run)     {c.Failed:N0}{Reasons(c.FailureReasons)}"));
        s.AppendLine(string.Create(inv, $"  invalid lines         {c.Invalid:N0}{Reasons(c.InvalidReasons)}"));
        foreach (var (reason, lines) in c.InvalidExamples.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            s.AppendLine($"    {reason}: line {string.Join(", ", lines)}{(c.InvalidReasons.GetValueOrDefault(reason) > lines.Count ? ", …" : "")}");
        }
        s.AppendLine(string.Create(inv, $"  skipped (answered by an earlier run): {c.SkippedSucceeded:N0} succeeded, {c.SkippedFailed:N0} failed{(options.RetryFailed ? "" : " (use --retry-failed to send them again)")}, {c.SkippedInvalid:N0} invalid"));
        if (result.Resumed.TruncatedBytes > 0)
        {
            s.AppendLine(string.Create(inv, $"  the output ended in an unfinished line ({result.Resumed.TruncatedBytes} bytes): cut off before appending"));
        }
        if (result.Resumed.UnreadableLines > 0)
        {
            s.AppendLine(string.Create(inv, $"  unreadable lines in the existing output (ignored): {result.Resumed.UnreadableLines}"));
        }
        var seconds = Math.Max(1e-9, result.Duration.TotalSeconds);
        s.AppendLine(string.Create(inv, $"  goodput               {c.Succeeded / seconds:0.0} successes/s; 429s {c.RateLimited:N0}; at most {result.MaxOutstanding} requests in the engine"));
        if (simulator is not null)
        {
            var models = simulator.GetStats().Models.Count;
            if (models > 0)
            {
                var limit = options.SimulatorRate * models;
                s.AppendLine(string.Create(inv, $"  simulator limit       {limit:0.#}/s ({models} model(s) x {options.SimulatorRate:0.#}/s): goodput / limit = {c.Succeeded / seconds / limit:P1}"));
            }
        }
        using (var self = System.Diagnostics.Process.GetCurrentProcess())
        {
            s.AppendLine(string.Create(inv, $"  peak working set      {self.PeakWorkingSet64 / (1024.0 * 1024.0):0.0} MB"));
        }
        s.Append(string.Create(inv, $"  output                {Path.GetFullPath(options.OutputPath)} ({new FileInfo(options.OutputPath).Length:N0} bytes)"));
        return s.ToString();
    }

    private static string Reasons(IReadOnlyDictionary<string, long> reasons) =>
        reasons.Count == 0 ? "" : " (" + string.Join(", ", reasons.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => $"{r.Key} {r.Value}")) + ")";

    private static string Time(TimeSpan t) => t.TotalSeconds < 60
        ? t.TotalSeconds.ToString("0.0 's'", CultureInfo.InvariantCulture)
        : t.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture);
}
