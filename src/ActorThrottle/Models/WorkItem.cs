using System.Diagnostics;
using ActorThrottle.Messages;
using Akka.Actor;

namespace ActorThrottle.Models;

/// <summary>
/// One attempt of one request on its way through a model's stream. The supervisor marks it abandoned when the
/// request was answered some other way (cancelled, deadline, restart); the stream then skips it, and a call
/// already running is cancelled.
/// </summary>
internal sealed class WorkItem
{
    private int _abandoned;
    // 0 waiting (queued or buffered in the stream), 1 its call started, 2 withdrawn before it started.
    private int _state;
    private CancellationTokenSource? _call;
    // Streams only: a chunk is passed on and the item abandoned under this lock, so no chunk follows the terminal reply
    // (the supervisor abandons the item before it answers).
    // Null for ordinary requests: a queued request should cost as little as possible.
    private readonly Lock? _chunkGate;
    private int _chunksSent;

    /// <param name="chunkTarget">Streamed requests: who receives the <see cref="ChatChunk"/>s; null for ordinary requests.</param>
    public WorkItem(ChatRequest request, long cost, int attempt, bool isRetry, IActorRef? chunkTarget = null)
    {
        Request = request;
        Cost = cost;
        Attempt = attempt;
        IsRetry = isRetry;
        ChunkTarget = chunkTarget;
        _chunkGate = chunkTarget is null ? null : new Lock();
    }

    /// <summary>Non-null for a streamed request: its call streams and passes each piece of text here.</summary>
    public IActorRef? ChunkTarget { get; }

    /// <summary>How many chunks this attempt passed on; final once the item is abandoned or its call has returned.</summary>
    public int ChunksSent
    {
        get
        {
            if (_chunkGate is null)
            {
                return 0;
            }
            lock (_chunkGate)
            {
                return _chunksSent;
            }
        }
    }

    /// <summary>Passes one piece of streamed text to <see cref="ChunkTarget"/>; false (and nothing sent) once the item is abandoned.</summary>
    public bool TryForwardChunk(string content)
    {
        if (ChunkTarget is null || _chunkGate is null || content.Length == 0)
        {
            return ChunkTarget is not null && !IsAbandoned;
        }
        lock (_chunkGate)
        {
            if (_abandoned == 1)
            {
                return false;
            }
            ChunkTarget.Tell(new ChatChunk(Request.RequestId, _chunksSent, content), ActorRefs.NoSender);
            _chunksSent++;
            return true;
        }
    }

    public ChatRequest Request { get; }

    /// <summary>The parent of this attempt's span: the request span (or the caller's context when nobody traces requests).</summary>
    public ActivityContext Trace { get; init; }

    /// <summary>When the supervisor put this attempt into the queue (the queue wait ends when its call starts).</summary>
    public DateTimeOffset QueuedAt { get; init; }

    /// <summary>Time from <see cref="QueuedAt"/> to <paramref name="sentAt"/>; zero when the item was never queued by a supervisor.</summary>
    public TimeSpan QueueWaitUntil(DateTimeOffset sentAt) => QueuedAt == default || sentAt < QueuedAt ? TimeSpan.Zero : sentAt - QueuedAt;

    /// <summary>The attempt span's context once its call started (default when nobody listens); for the per-attempt log event.</summary>
    public ActivityContext AttemptSpan { get; set; }
    public long Cost { get; }
    /// <summary>1 for the first attempt.</summary>
    public int Attempt { get; }
    public bool IsRetry { get; }

    /// <summary>Retries of a lane leave before its first attempts: lane = 2·priority + (retry ? 0 : 1).</summary>
    public int Lane => 2 * (int)Request.Priority + (IsRetry ? 0 : 1);

    public bool IsAbandoned => Volatile.Read(ref _abandoned) == 1;

    public void Abandon()
    {
        if (_chunkGate is null)
        {
            Interlocked.Exchange(ref _abandoned, 1);
        }
        else
        {
            lock (_chunkGate)
            {
                Interlocked.Exchange(ref _abandoned, 1);
            }
        }
        var call = Volatile.Read(ref _call);
        if (call is not null)
        {
            try
            {
                call.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The call already finished.
            }
        }
    }

    /// <summary>Ties a running call to this item; false (and nothing to run) when it was abandoned or withdrawn meanwhile.</summary>
    public bool AttachCall(CancellationTokenSource call)
    {
        Volatile.Write(ref _call, call);
        if (Interlocked.CompareExchange(ref _state, 1, 0) == 2)
        {
            return false;
        }
        return !IsAbandoned;
    }

    /// <summary>
    /// Withdraws the item if its call has not started (wherever it waits: the queue or the stream's buffers) and
    /// abandons it; false when the call already started. Exactly one of this and <see cref="AttachCall"/> wins, so a
    /// withdrawn item is never sent to the provider (used when a model hands its work to another node).
    /// </summary>
    public bool TryWithdraw()
    {
        if (Interlocked.CompareExchange(ref _state, 2, 0) != 0)
        {
            return false;
        }
        Abandon();
        return true;
    }

    public void DetachCall() => Volatile.Write(ref _call, null);

    /// <summary>True while the item waits in the queue or the stream's buffers: its call has not started, nor was it withdrawn or abandoned.</summary>
    public bool IsWaiting => Volatile.Read(ref _state) == 0 && !IsAbandoned;
}
