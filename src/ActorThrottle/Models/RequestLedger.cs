namespace ActorThrottle.Models;

/// <summary>
/// The requests a model has accepted and not yet answered, keyed by request id; the heap of their deadlines; and the
/// memory of requests handed to a fallback model, so a caller's cancel still reaches them. Owned by one
/// <see cref="ModelSupervisor"/> (no locking); timers and answers stay with the supervisor.
/// </summary>
internal sealed class RequestLedger
{
    // Recent hand-offs kept for cancels (bounded: the oldest is forgotten first).
    private const int ForwardedMemory = 10_000;
    private readonly Dictionary<string, LedgerEntry> _entries = new(StringComparer.Ordinal);
    private readonly PriorityQueue<string, DateTimeOffset> _deadlines = new();
    private readonly Dictionary<string, string> _forwarded = new(StringComparer.Ordinal);
    private readonly Queue<string> _forwardedOrder = new();

    public int Count => _entries.Count;

    public bool Contains(string requestId) => _entries.ContainsKey(requestId);

    public bool TryGet(string requestId, out LedgerEntry entry) => _entries.TryGetValue(requestId, out entry!);

    /// <summary>A snapshot of the entries, safe to answer (remove) while walking it.</summary>
    public List<LedgerEntry> Snapshot() => [.. _entries.Values];

    /// <summary>The entries, unordered, without a copy (not to be changed while enumerated).</summary>
    public IEnumerable<LedgerEntry> Entries => _entries.Values;

    /// <summary>Adds an accepted request; tracks its deadline when it has one.</summary>
    public void Add(LedgerEntry entry)
    {
        _entries.Add(entry.Request.RequestId, entry);
        if (entry.Request.Deadline is { } deadline)
        {
            if (_deadlines.Count > 2 * _entries.Count + 64)
            {
                PruneDeadlines();
            }
            _deadlines.Enqueue(entry.Request.RequestId, deadline);
        }
    }

    /// <summary>Removes an entry; false when it was not (or no longer) held. Its deadline is dropped lazily.</summary>
    public bool Remove(string requestId) => _entries.Remove(requestId);

    /// <summary>The earliest deadline still tracked, or null.</summary>
    public DateTimeOffset? NextDeadline => _deadlines.TryPeek(out _, out var next) ? next : null;

    /// <summary>Takes the entries whose deadline is at or before <paramref name="now"/> off the heap (still in the ledger, for the caller to answer).</summary>
    public List<LedgerEntry> TakeExpired(DateTimeOffset now)
    {
        var expired = new List<LedgerEntry>();
        while (_deadlines.TryPeek(out var id, out var deadline) && deadline <= now)
        {
            _deadlines.Dequeue();
            if (_entries.TryGetValue(id, out var entry) && entry.Request.Deadline == deadline)
            {
                expired.Add(entry);
            }
        }
        return expired;
    }

    /// <summary>Remembers that <paramref name="requestId"/> went on to <paramref name="model"/> (bounded memory).</summary>
    public void RememberForwarded(string requestId, string model)
    {
        if (_forwarded.TryAdd(requestId, model))
        {
            _forwardedOrder.Enqueue(requestId);
            if (_forwardedOrder.Count > ForwardedMemory)
            {
                _forwarded.Remove(_forwardedOrder.Dequeue());
            }
        }
    }

    /// <summary>The model a request not held here was handed to, if it is remembered.</summary>
    public bool TryGetForwarded(string requestId, out string model) => _forwarded.TryGetValue(requestId, out model!);

    // Answered requests leave their deadline behind; drop those so the heap stays the size of the ledger.
    private void PruneDeadlines()
    {
        var live = _entries.Values.Where(e => e.Request.Deadline is not null).Select(e => (e.Request.RequestId, e.Request.Deadline!.Value)).ToList();
        _deadlines.Clear();
        _deadlines.EnqueueRange(live);
    }
}
