using ActorThrottle.Messages;

namespace ActorThrottle.Models;

/// <summary>
/// One attempt of one request on its way through a model's stream. The supervisor marks it abandoned when the
/// request was answered some other way (cancelled, deadline, restart); the stream then skips it, and a call
/// already running is cancelled.
/// </summary>
internal sealed class WorkItem
{
    private int _abandoned;
    private CancellationTokenSource? _call;

    public WorkItem(ChatRequest request, long cost, int attempt, bool isRetry)
    {
        Request = request;
        Cost = cost;
        Attempt = attempt;
        IsRetry = isRetry;
    }

    public ChatRequest Request { get; }
    public long Cost { get; }
    /// <summary>1 for the first attempt.</summary>
    public int Attempt { get; }
    public bool IsRetry { get; }

    /// <summary>Retries of a lane leave before its first attempts: lane = 2·priority + (retry ? 0 : 1).</summary>
    public int Lane => 2 * (int)Request.Priority + (IsRetry ? 0 : 1);

    public bool IsAbandoned => Volatile.Read(ref _abandoned) == 1;

    public void Abandon()
    {
        Interlocked.Exchange(ref _abandoned, 1);
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

    /// <summary>Ties a running call to this item; false (and nothing to run) when it was abandoned meanwhile.</summary>
    public bool AttachCall(CancellationTokenSource call)
    {
        Volatile.Write(ref _call, call);
        return !IsAbandoned;
    }

    public void DetachCall() => Volatile.Write(ref _call, null);
}
