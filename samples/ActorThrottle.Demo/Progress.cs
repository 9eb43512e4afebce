using System.Globalization;
using ActorThrottle.Models;
using Spectre.Console;

namespace ActorThrottle.Demo;

/// <summary>Live per-model progress: a Spectre live table (~4×/s) on a terminal, plain lines otherwise.</summary>
internal sealed class Progress(ActorThrottleEngine engine, IReadOnlyDictionary<string, ModelTally> tallies, MeterTally meter, IReadOnlyList<string> models)
{
    private static readonly TimeSpan LiveRefresh = TimeSpan.FromMilliseconds(250);

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

    public async Task RunLiveAsync(IAnsiConsole console, Task done)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("ActorThrottle demo (live)");
        // Short headers so the table fits 80 columns.
        foreach (var column in new[] { "model", "sent", "done", "ok", "fail", "429", "retry", "queue", "burst", "rate/s" })
        {
            table.AddColumn(column == "model" ? new TableColumn(column).NoWrap() : new TableColumn(column).RightAligned().NoWrap());
        }
        await console.Live(table).AutoClear(false).StartAsync(async ctx =>
        {
            while (true)
            {
                var finished = done.IsCompleted;
                await FillAsync(table);
                ctx.Refresh();
                if (finished)
                {
                    break;
                }
                await Task.WhenAny(done, Task.Delay(LiveRefresh));
                if (!done.IsCompleted)
                {
                    continue;
                }
            }
        });
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
