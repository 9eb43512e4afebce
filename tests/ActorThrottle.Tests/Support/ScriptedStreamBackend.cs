using System.Collections.Concurrent;
using ActorThrottle.Backend;
using ActorThrottle.Configuration;
using ActorThrottle.Messages;

namespace ActorThrottle.Tests.Support;

/// <summary>
/// An in-memory backend that streams: a test scripts each call (given the request, the 1-based call number for its id,
/// the chunk callback and the call's token). Ordinary (non-streamed) calls succeed with <see cref="ScriptedBackend.Success"/>.
/// </summary>
public sealed class ScriptedStreamBackend : IChatBackend, IChatBackendFactory
{
    public delegate Task<BackendResponse> StreamScript(ChatRequest request, int call, Action<string> onContent, CancellationToken cancellationToken);

    private readonly StreamScript _script;
    private readonly ConcurrentDictionary<string, int> _callsPerRequest = new();
    private int _streamCalls;
    private int _plainCalls;
    private int _inFlight;
    private int _maxInFlight;

    public ScriptedStreamBackend(StreamScript script) => _script = script;

    /// <summary>Streams <paramref name="pieces"/> and succeeds with their concatenation.</summary>
    public static ScriptedStreamBackend Pieces(params string[] pieces) => new((r, _, onContent, _) =>
    {
        foreach (var piece in pieces)
        {
            onContent(piece);
        }
        return Task.FromResult(Completed(r, string.Concat(pieces)));
    });

    /// <summary>Streams <paramref name="first"/>, then waits until its call is cancelled; <paramref name="callCancelled"/> completes then.</summary>
    public static ScriptedStreamBackend FirstChunkThenWaitForCancel(string first, out Task callCancelled)
    {
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        callCancelled = cancelled.Task;
        return new ScriptedStreamBackend(async (r, _, onContent, ct) =>
        {
            onContent(first);
            using (ct.Register(() => cancelled.TrySetResult()))
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            return Completed(r, "never");
        });
    }

    public static BackendResponse Completed(ChatRequest request, string text) => new(OutcomeKind.Success)
    {
        StatusCode = 200,
        Content = text,
        FinishReason = "stop",
        ModelUsed = request.Model + "-2024",
        Usage = new TokenUsage(5, 7),
        RawJson = "",
    };

    public int StreamCalls => Volatile.Read(ref _streamCalls);
    public int PlainCalls => Volatile.Read(ref _plainCalls);
    public int MaxObservedInFlight => Volatile.Read(ref _maxInFlight);
    public int CallsFor(string requestId) => _callsPerRequest.TryGetValue(requestId, out var n) ? n : 0;

    public IChatBackend Create(ModelSettings settings) => this;

    public Task<BackendResponse> SendAsync(ChatRequest request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _plainCalls);
        _callsPerRequest.AddOrUpdate(request.RequestId, 1, (_, c) => c + 1);
        return Task.FromResult(ScriptedBackend.Success(request));
    }

    public async Task<BackendResponse> StreamAsync(ChatRequest request, Action<string> onContent, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _streamCalls);
        var n = _callsPerRequest.AddOrUpdate(request.RequestId, 1, (_, c) => c + 1);
        var now = Interlocked.Increment(ref _inFlight);
        int seen;
        while (now > (seen = Volatile.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, now, seen) != seen)
        {
        }
        try
        {
            return await _script(request, n, onContent, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }
}
