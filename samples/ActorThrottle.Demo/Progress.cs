using System.Globalization;
using ActorThrottle.Models;
using ActorThrottle.Timeline;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace ActorThrottle.Demo;

/// <summary>
/// Live progress: on a terminal a Spectre view (~4×/s) with elapsed time, answers per second, ETA, a progress bar and a
/// per-model table; plain lines otherwise.
/// </summary>
internal sealed class Progress(ActorThrottleEngine engine, IReadOnlyDictionary<string, ModelTally> tallies, MeterTally meter, IReadOnlyList<string> models, int total)
{
    private static readonly TimeSpan LiveRefresh = TimeSpan.FromMilliseconds(250);
    private readonly ProgressRate _rate = new();

    public async Task<ModelStatus?> StatusAsync(string model)
    {
        try
        {
            return await engine.GetStatusAsync(model, TimeSpan.FromSeconds(2));
        }
        catch (Exception e) when (e is Akka.Actor.AskTimeoutException or TaskCanceledException or TimeoutException)
        {
            return null;
        }
    }

    public async Task RunLiveAsync(IAnsiConsole console, Task done, long started)
    {
        var table = new Table().Border(TableBorder.Rounded);
        // Short headers so the table fits 80 columns.
        foreach (var column in new[] { "model", "sent", "done", "ok", "fail", "429", "retry", "queue", "burst", "rate/s" })
        {
            table.AddColumn(column == "model" ? new TableColumn(column).NoWrap() : new TableColumn(column).RightAligned().NoWrap());
        }
        await console.Live(new Text("starting…")).AutoClear(false).StartAsync(async ctx =>
        {
            while (true)
            {
                var finished = done.IsCompleted;
                await FillAsync(table);
                ctx.UpdateTarget(Render(table, RunClock.Between(started, RunClock.Now)));
                if (finished)
                {
                    break;
                }
                await Task.WhenAny(done, Task.Delay(LiveRefresh));
            }
        });
    }

    /// <summary>The summary above the table: answered of total, elapsed, answers per second over ~10 s, ETA, and a bar.</summary>
    private IRenderable Render(Table table, TimeSpan elapsed)
    {
        var answered = tallies.Values.Sum(t => (long)t.Done);
        _rate.Sample(elapsed, answered);
        var fraction = total > 0 ? Math.Min(1, (double)answered / total) : 0;
        var eta = _rate.Eta(total, answered) is { } left ? ProgressRate.Format(left) : "?";
        var summary = new Grid().AddColumn().AddColumn();
        summary.AddRow("[bold]answered[/]", string.Create(CultureInfo.InvariantCulture, $"{answered:N0} / {total:N0} ({fraction:P1})"));
        summary.AddRow("[bold]time[/]", string.Create(CultureInfo.InvariantCulture,
            $"elapsed {ProgressRate.Format(elapsed)}   {_rate.Rate:0.0} answers/s   ETA {eta}"));
        var bar = new BarChart().Width(60).AddItem("done %", Math.Round(fraction * 100, 1), Color.Green).WithMaxValue(100);
        return new Rows(new Markup("[bold]ActorThrottle demo (live)[/]"), summary, bar, table);
    }

    public async Task RunPlainAsync(IAnsiConsole console, Task done, TimeSpan interval, long started)
    {
        while (!done.IsCompleted)
        {
            await Task.WhenAny(done, Task.Delay(interval));
            if (done.IsCompleted)
            {
                break;
            }
            var elapsed = RunClock.Between(started, RunClock.Now).TotalSeconds;
            foreach (var row in await RowsAsync())
            {
                console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"[{elapsed,6:0.0}s] {row.Model}: sent {row.Sent}, done {row.Done} (ok {row.Ok}, failed {row.Failed}), 429s {row.RateLimited}, retries {row.Retries}, pending {row.Pending}, burst {row.Burst}, rate {row.Rate}/s"));
            }
        }
    }

    private async Task FillAsync(Table table)
    {
        var rows = await RowsAsync();
        table.Rows.Clear();
        foreach (var r in rows)
        {
            table.AddRow(Markup.Escape(r.Model), r.Sent.ToString(CultureInfo.InvariantCulture), r.Done.ToString(CultureInfo.InvariantCulture),
                r.Ok.ToString(CultureInfo.InvariantCulture), r.Failed.ToString(CultureInfo.InvariantCulture), r.RateLimited.ToString(CultureInfo.InvariantCulture),
                r.Retries.ToString(CultureInfo.InvariantCulture), r.Pending, r.Burst, r.Rate);
        }
    }

    private async Task<List<Row>> RowsAsync()
    {
        var rows = new List<Row>(models.Count);
        foreach (var model in models)
        {
            var tally = tallies[model];
            var status = await StatusAsync(model);
            rows.Add(new Row(model, tally.Sent, tally.Done, tally.Successes, tally.Failed + tally.Unanswered, meter.RateLimited(model), meter.Retries(model),
                status?.Pending.ToString(CultureInfo.InvariantCulture) ?? "?",
                status?.Burst.ToString(CultureInfo.InvariantCulture) ?? "?",
                status?.Rate.ToString("0.##", CultureInfo.InvariantCulture) ?? "?"));
        }
        return rows;
    }

    private sealed record Row(string Model, int Sent, int Done, int Ok, int Failed, long RateLimited, long Retries, string Pending, string Burst, string Rate);
}
