using System.Diagnostics;
using System.Globalization;
using ActorThrottle.Models;
using ActorThrottle.Timeline;
using Spectre.Console;

namespace ActorThrottle.Batch;

/// <summary>
/// Shows a run's progress: a live Spectre.Console table on a terminal (done/total, rate, ETA, 429s, and per model
/// the requests in the engine, the burst window and rate AIMD has set); plain periodic lines when stdout is
/// redirected.
/// </summary>
public sealed class BatchProgress
{
    private readonly BatchCounters _counters;
    private readonly ActorThrottleEngine _engine;
    private readonly TextWriter _plain;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly ProgressRate _rate = new();
    private readonly Dictionary<string, ModelStatus> _status = new(StringComparer.Ordinal);

    public BatchProgress(BatchCounters counters, ActorThrottleEngine engine, TextWriter? plain = null)
    {
        _counters = counters;
        _engine = engine;
        _plain = plain ?? Console.Out;
    }

    public static ProgressMode Resolve(ProgressMode mode) => mode switch
    {
        ProgressMode.Auto => !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive ? ProgressMode.Live : ProgressMode.Plain,
        _ => mode,
    };

    /// <summary>Shows progress until <paramref name="stop"/> is cancelled.</summary>
    public async Task RunAsync(ProgressMode mode, TimeSpan interval, CancellationToken stop)
    {
        switch (mode)
        {
            case ProgressMode.Live:
                await AnsiConsole.Live(new Text("starting…")).AutoClear(false).StartAsync(async ctx =>
                {
                    while (!stop.IsCancellationRequested)
                    {
                        await RefreshAsync().ConfigureAwait(false);
                        ctx.UpdateTarget(Render());
                        await Delay(TimeSpan.FromMilliseconds(250), stop).ConfigureAwait(false);
                    }
                    await RefreshAsync().ConfigureAwait(false);
                    ctx.UpdateTarget(Render());
                }).ConfigureAwait(false);
                break;
            case ProgressMode.Plain:
                while (!stop.IsCancellationRequested)
                {
                    await Delay(interval, stop).ConfigureAwait(false);
                    await RefreshAsync().ConfigureAwait(false);
                    await _plain.WriteLineAsync(PlainLine()).ConfigureAwait(false);
                    await _plain.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                }
                break;
        }
    }

    private static async Task Delay(TimeSpan delay, CancellationToken stop)
    {
        try
        {
            await Task.Delay(delay, stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Samples the rate window and asks the engine for each model's burst window.</summary>
    private async Task RefreshAsync()
    {
        var now = _clock.Elapsed;
        _rate.Sample(now, _counters.Succeeded + _counters.Failed);
        foreach (var model in _counters.Models.Keys)
        {
            try
            {
                _status[model] = await _engine.GetStatusAsync(model, TimeSpan.FromSeconds(1)).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The display must never stop the run.
            }
        }
    }

    /// <summary>Answers per second over the last ~10 s.</summary>
    public double Rate => _rate.Rate;

    private string Eta() => _rate.Eta(_counters.Total, _counters.Done) is { } left ? Format(left) : "?";

    private static string Format(TimeSpan t) => ProgressRate.Format(t);

    private string TotalText => _counters.Total < 0 ? "?" : _counters.Total.ToString(CultureInfo.InvariantCulture);

    public string PlainLine()
    {
        var c = _counters;
        var percent = c.Total > 0 ? $" ({100.0 * c.Done / c.Total:0.0}%)" : "";
        var models = string.Join("; ", _counters.Models.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m =>
        {
            var s = _status.GetValueOrDefault(m.Key);
            var burst = s is null ? "" : string.Create(CultureInfo.InvariantCulture, $" burst {s.Burst} rate {s.Rate:0.#}/s{(s.PausedUntil is null ? "" : " paused")}");
            return $"{m.Key}: in engine {m.Value.Outstanding}, ok {m.Value.Succeeded}, failed {m.Value.Failed}{burst}";
        }));
        return string.Create(CultureInfo.InvariantCulture,
            $"[{Format(_clock.Elapsed)}] done {c.Done}/{TotalText}{percent}: ok {c.Succeeded}, failed {c.Failed}, invalid {c.Invalid}, skipped {c.Skipped} | {Rate:0.0}/s | ETA {Eta()} | 429s {c.RateLimited} | {models}");
    }

    private Spectre.Console.Rendering.IRenderable Render()
    {
        var c = _counters;
        var summary = new Grid().AddColumn().AddColumn();
        var total = c.Total;
        var fraction = total > 0 ? Math.Min(1, (double)c.Done / total) : 0;
        summary.AddRow("[bold]done[/]", string.Create(CultureInfo.InvariantCulture, $"{c.Done:N0} / {TotalText} ({fraction:P1})"));
        summary.AddRow("[bold]results[/]", string.Create(CultureInfo.InvariantCulture,
            $"[green]ok {c.Succeeded:N0}[/]  [red]failed {c.Failed:N0}[/]  [yellow]invalid {c.Invalid:N0}[/]  skipped (earlier runs) {c.Skipped:N0}"));
        summary.AddRow("[bold]rate[/]", string.Create(CultureInfo.InvariantCulture, $"{Rate:0.0}/s   ETA {Eta()}   elapsed {Format(_clock.Elapsed)}"));
        summary.AddRow("[bold]429s[/]", c.RateLimited.ToString("N0", CultureInfo.InvariantCulture));
        var bar = new BarChart().Width(60).AddItem("done", Math.Round(fraction * 100, 1), Color.Green).WithMaxValue(100);

        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn("model").AddColumn(new TableColumn("in engine").RightAligned()).AddColumn(new TableColumn("ok").RightAligned())
            .AddColumn(new TableColumn("failed").RightAligned()).AddColumn(new TableColumn("burst").RightAligned())
            .AddColumn(new TableColumn("rate/s").RightAligned()).AddColumn("paused");
        foreach (var (model, m) in _counters.Models.OrderBy(m => m.Key, StringComparer.Ordinal))
        {
            var s = _status.GetValueOrDefault(model);
            table.AddRow(
                Markup.Escape(model),
                m.Outstanding.ToString(CultureInfo.InvariantCulture),
                m.Succeeded.ToString("N0", CultureInfo.InvariantCulture),
                m.Failed.ToString("N0", CultureInfo.InvariantCulture),
                s?.Burst.ToString(CultureInfo.InvariantCulture) ?? "-",
                s?.Rate.ToString("0.#", CultureInfo.InvariantCulture) ?? "-",
                s?.PausedUntil is { } until ? until.ToString("HH:mm:ss", CultureInfo.InvariantCulture) : "");
        }
        return new Rows(summary, bar, table);
    }
}
