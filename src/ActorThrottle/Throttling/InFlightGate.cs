namespace ActorThrottle.Throttling;

/// <summary>
/// At most <see cref="Limit"/> calls in flight, with a limit that can change while the stream runs (the stream's own
/// parallelism is fixed when it is materialized, at <c>max-in-flight</c>; this gate sits inside it). Thread-safe;
/// waiters enter in arrival order.
/// </summary>
internal sealed class InFlightGate
{
    private readonly object _lock = new();
    private readonly Queue<TaskCompletionSource<int>> _waiting = new();
    private int _limit;
    private int _inFlight;

    public InFlightGate(int limit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1, nameof(limit));
        _limit = limit;
    }

    /// <summary>Calls allowed in flight at once.</summary>
    public int Limit
    {
        get { lock (_lock) { return _limit; } }
    }

    /// <summary>Calls in flight now.</summary>
    public int InFlight
    {
        get { lock (_lock) { return _inFlight; } }
    }

    /// <summary>Changes the limit; a raised one lets waiters in at once, a lowered one lets no one in until enough have left.</summary>
    public void SetLimit(int limit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1, nameof(limit));
        List<(TaskCompletionSource<int>, int)> admitted;
        lock (_lock)
        {
            _limit = limit;
            admitted = AdmitWaiting();
        }
        Complete(admitted);
    }

    /// <summary>Waits for a place; completes with the calls in flight once entered, this one included.</summary>
    public Task<int> EnterAsync()
    {
        lock (_lock)
        {
            if (_waiting.Count == 0 && _inFlight < _limit)
            {
                return Task.FromResult(++_inFlight);
            }
            var waiter = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiting.Enqueue(waiter);
            return waiter.Task;
        }
    }

    /// <summary>A call left (every completed <see cref="EnterAsync"/> is matched by one <see cref="Exit"/>).</summary>
    public void Exit()
    {
        List<(TaskCompletionSource<int>, int)> admitted;
        lock (_lock)
        {
            if (_inFlight == 0)
            {
                throw new InvalidOperationException("InFlightGate.Exit without a matching EnterAsync.");
            }
            _inFlight--;
            admitted = AdmitWaiting();
        }
        Complete(admitted);
    }

    private List<(TaskCompletionSource<int>, int)> AdmitWaiting()
    {
        var admitted = new List<(TaskCompletionSource<int>, int)>();
        while (_waiting.Count > 0 && _inFlight < _limit)
        {
            admitted.Add((_waiting.Dequeue(), ++_inFlight));
        }
        return admitted;
    }

    // Outside the lock: continuations run asynchronously anyway, but completing under a lock invites surprises.
    private static void Complete(List<(TaskCompletionSource<int> Waiter, int InFlight)> admitted)
    {
        foreach (var (waiter, inFlight) in admitted)
        {
            waiter.SetResult(inFlight);
        }
    }
}
