namespace ActorThrottle.Timeline;

/// <summary>
/// Per model and per whole second of a run: attempts the provider answered, how many it accepted (2xx), how many it
/// rejected with 429, and the engine's release rate sampled in that second. Thread-safe; seconds count from the run's
/// start.
/// </summary>
public sealed class RunTimeline
{
    private readonly object _gate = new();
    private readonly Dictionary<string, SortedDictionary<int, Counts>> _models = new(StringComparer.Ordinal);

    /// <summary>One attempt answered in <paramref name="second"/> with HTTP <paramref name="status"/> (null: no HTTP answer).</summary>
    public void RecordAttempt(string model, int second, int? status)
    {
        ArgumentNullException.ThrowIfNull(model);
        lock (_gate)
        {
            var counts = At(model, second);
            counts.Attempts++;
            if (status is >= 200 and < 300)
            {
                counts.Accepted++;
            }
            else if (status == 429)
            {
                counts.RateLimited++;
            }
        }
    }

    /// <summary>The engine's release rate (requests/s) for <paramref name="model"/> as read in <paramref name="second"/>; the last read of a second wins.</summary>
    public void RecordRate(string model, int second, double rate)
    {
        ArgumentNullException.ThrowIfNull(model);
        lock (_gate)
        {
            At(model, second).EngineRate = rate;
        }
    }

    /// <summary>Every model's seconds in order, with no gaps between a model's first and last second (empty seconds are zeros).</summary>
    public IReadOnlyList<TimelineRow> Rows()
    {
        lock (_gate)
        {
            var rows = new List<TimelineRow>();
            foreach (var (model, seconds) in _models.OrderBy(m => m.Key, StringComparer.Ordinal))
            {
                if (seconds.Count == 0)
                {
                    continue;
                }
                double? lastRate = null;
                for (var s = seconds.Keys.First(); s <= seconds.Keys.Last(); s++)
                {
                    var c = seconds.GetValueOrDefault(s);
                    // A second with no read of the gauge keeps the last rate seen: the rate did not stop existing.
                    lastRate = c?.EngineRate ?? lastRate;
                    rows.Add(new TimelineRow(s, model, c?.Attempts ?? 0, c?.Accepted ?? 0, c?.RateLimited ?? 0, lastRate));
                }
            }
            return rows;
        }
    }

    private Counts At(string model, int second)
    {
        if (second < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(second), second, "Seconds count from the run's start and cannot be negative.");
        }
        if (!_models.TryGetValue(model, out var seconds))
        {
            _models[model] = seconds = new SortedDictionary<int, Counts>();
        }
        if (!seconds.TryGetValue(second, out var counts))
        {
            seconds[second] = counts = new Counts();
        }
        return counts;
    }

    private sealed class Counts
    {
        public long Attempts;
        public long Accepted;
        public long RateLimited;
        public double? EngineRate;
    }
}
