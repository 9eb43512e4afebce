using ActorThrottle.Backend;

namespace ActorThrottle.Models;

/// <summary>
/// A model's last attempts and admission rejections, bounded in count and age, summarised on demand for
/// <see cref="ModelStatus.Recent"/>. Owned by one supervisor (not thread-safe); time comes from the caller.
/// </summary>
internal sealed class RecentOutcomes
{
    /// <summary>How far back the summary looks.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(60);

    /// <summary>Most outcomes kept: enough to judge, small enough to summarise on every status query.</summary>
    public const int Capacity = 100;

    private enum Kind : byte { Success, RateLimited, NoResponse, Other, QueueFull }

    private readonly (DateTimeOffset At, Kind Kind)[] _ring = new (DateTimeOffset, Kind)[Capacity];
    private int _next;
    private int _count;

    public void RecordAttempt(DateTimeOffset at, OutcomeKind kind, bool gotHttpAnswer) =>
        Add(at, kind switch
        {
            OutcomeKind.Success => Kind.Success,
            OutcomeKind.RateLimited => Kind.RateLimited,
            _ when !gotHttpAnswer => Kind.NoResponse,
            _ => Kind.Other,
        });

    public void RecordQueueFull(DateTimeOffset at) => Add(at, Kind.QueueFull);

    public RecentAttempts Summarise(DateTimeOffset now)
    {
        int successes = 0, rateLimited = 0, noResponse = 0, other = 0, queueFull = 0;
        for (var i = 0; i < _count; i++)
        {
            var (at, kind) = _ring[(_next - 1 - i + Capacity) % Capacity];
            if (now - at > Window)
            {
                break;                      // newest first: the rest are older still
            }
            switch (kind)
            {
                case Kind.Success: successes++; break;
                case Kind.RateLimited: rateLimited++; break;
                case Kind.NoResponse: noResponse++; break;
                case Kind.Other: other++; break;
                default: queueFull++; break;
            }
        }
        var attempts = successes + rateLimited + noResponse + other;
        return attempts + queueFull == 0 ? RecentAttempts.None : new RecentAttempts(attempts, successes, rateLimited, noResponse, other, queueFull);
    }

    private void Add(DateTimeOffset at, Kind kind)
    {
        _ring[_next] = (at, kind);
        _next = (_next + 1) % Capacity;
        _count = Math.Min(_count + 1, Capacity);
    }
}
