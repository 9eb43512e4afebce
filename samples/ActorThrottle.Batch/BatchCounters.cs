using System.Collections.Concurrent;
using ActorThrottle.Messages;

namespace ActorThrottle.Batch;

/// <summary>Live counts of a run, shared by the runner, the writer and the progress display. Thread-safe.</summary>
public sealed class BatchCounters
{
    private long _total = -1;
    private long _read;
    private long _skippedSucceeded;
    private long _skippedFailed;
    private long _skippedInvalid;
    private long _succeeded;
    private long _failed;
    private long _invalid;
    private long _outstanding;
    private long _rateLimited;
    private long _queueFullResubmits;
    private long _interrupted;

    /// <summary>Non-empty lines of the input; -1 until counted.</summary>
    public long Total { get => Interlocked.Read(ref _total); set => Interlocked.Exchange(ref _total, value); }
    public long Read => Interlocked.Read(ref _read);
    public long SkippedSucceeded => Interlocked.Read(ref _skippedSucceeded);
    public long SkippedFailed => Interlocked.Read(ref _skippedFailed);
    public long SkippedInvalid => Interlocked.Read(ref _skippedInvalid);
    public long Succeeded => Interlocked.Read(ref _succeeded);
    public long Failed => Interlocked.Read(ref _failed);
    public long Invalid => Interlocked.Read(ref _invalid);
    public long Outstanding => Interlocked.Read(ref _outstanding);

    /// <summary>429 <c>rate_limit_exceeded</c> answers the engine got (each was retried or counted in a failure).</summary>
    public long RateLimited => Interlocked.Read(ref _rateLimited);
    public long QueueFullResubmits => Interlocked.Read(ref _queueFullResubmits);

    /// <summary>Requests withdrawn by an interruption: not written, sent again on the next run.</summary>
    public long Interrupted => Interlocked.Read(ref _interrupted);

    /// <summary>Lines finished in this run or skipped because an earlier run finished them.</summary>
    public long Done => Succeeded + Failed + Invalid + Skipped;
    public long Skipped => SkippedSucceeded + SkippedFailed + SkippedInvalid;

    public ConcurrentDictionary<string, ModelCounters> Models { get; } = new(StringComparer.Ordinal);
    public ConcurrentDictionary<string, long> FailureReasons { get; } = new(StringComparer.Ordinal);
    public ConcurrentDictionary<string, long> InvalidReasons { get; } = new(StringComparer.Ordinal);

    /// <summary>The first few invalid line numbers per reason, for the summary.</summary>
    public ConcurrentDictionary<string, ConcurrentQueue<long>> InvalidExamples { get; } = new(StringComparer.Ordinal);

    public ModelCounters Model(string model) => Models.GetOrAdd(model, static _ => new ModelCounters());

    internal void LineRead() => Interlocked.Increment(ref _read);
    internal void SkipSucceeded() => Interlocked.Increment(ref _skippedSucceeded);
    internal void SkipFailed() => Interlocked.Increment(ref _skippedFailed);
    internal void SkipInvalid() => Interlocked.Increment(ref _skippedInvalid);
    internal void RateLimitedSeen(long n) => Interlocked.Add(ref _rateLimited, n);
    internal void QueueFullResubmit() => Interlocked.Increment(ref _queueFullResubmits);
    internal void InterruptedOne() => Interlocked.Increment(ref _interrupted);

    internal void Submitted(string model)
    {
        Interlocked.Increment(ref _outstanding);
        Interlocked.Increment(ref Model(model).Outstanding);
    }

    internal void Answered(string model)
    {
        Interlocked.Decrement(ref _outstanding);
        Interlocked.Decrement(ref Model(model).Outstanding);
    }

    /// <summary>Called by the writer once a record is on disk.</summary>
    internal void Written(OutputRecord record)
    {
        switch (record)
        {
            case ReplyRecord { Reply: ChatSuccess } r:
                Interlocked.Increment(ref _succeeded);
                Interlocked.Increment(ref Model(r.Model).Succeeded);
                break;
            case ReplyRecord { Reply: ChatFailure f } r:
                Interlocked.Increment(ref _failed);
                Interlocked.Increment(ref Model(r.Model).Failed);
                FailureReasons.AddOrUpdate(f.Reason.ToString(), 1, static (_, n) => n + 1);
                break;
            case InvalidRecord i:
                Interlocked.Increment(ref _invalid);
                InvalidReasons.AddOrUpdate(i.Invalid.Reason, 1, static (_, n) => n + 1);
                var examples = InvalidExamples.GetOrAdd(i.Invalid.Reason, static _ => new ConcurrentQueue<long>());
                if (examples.Count < 10)
                {
                    examples.Enqueue(i.Invalid.Line);
                }
                break;
        }
    }

    public sealed class ModelCounters
    {
        public long Outstanding;
        public long Succeeded;
        public long Failed;
    }
}
