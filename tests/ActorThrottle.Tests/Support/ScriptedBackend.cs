using System.Collections.Concurrent;
using ActorThrottle.Backend;
using ActorThrottle.Configuration;
using ActorThrottle.Messages;

namespace ActorThrottle.Tests.Support;

/// <summary>
/// An in-memory backend whose answers a test scripts per call. Records every call (request id, attempt
/// order, time) so tests can count what reached the "provider".
/// </summary>
public sealed class ScriptedBackend : IChatBackend, IChatBackendFactory
{
    private readonly Func<ChatRequest, int, CancellationToken, Task<BackendResponse>> _answer;
    private readonly ConcurrentDictionary<string, int> _callsPerRequest = new();
    private readonly ConcurrentQueue<(string RequestId, DateTimeOffset At)> _calls = new();
    private int _inFlight;
    private int _maxInFlight;

    /// <param name="answer">Given the request and the 1-based call number for that request id, the response.</param>
    public ScriptedBackend(Func<ChatRequest, int, CancellationToken, Task<BackendResponse>> answer) => _answer = answer;

    public ScriptedBackend(Func<ChatRequest, int, BackendResponse> answer)
        : this((r, n, _) => Task.FromResult(answer(r, n)))
    {
    }

    public static ScriptedBackend AlwaysSucceeds() => new((r, _) => Success(r));

    public int TotalCalls => _calls.Count;

    public int MaxObservedInFlight => Volatile.Read(ref _maxInFlight);

    public IReadOnlyList<(string RequestId, DateTimeOffset At)> Calls => _calls.ToArray();

    public int CallsFor(string requestId) => _callsPerRequest.TryGetValue(requestId, out var n) ? n : 0;

    public IChatBackend Create(ModelSettings settings) => this;

    public async Task<BackendResponse> SendAsync(ChatRequest request, CancellationToken cancellationToken)
    {
        var n = _callsPerRequest.AddOrUpdate(request.RequestId, 1, (_, c) => c + 1);
        _calls.Enqueue((request.RequestId, DateTimeOffset.UtcNow));
        var now = Interlocked.Increment(ref _inFlight);
        int seen;
        while (now > (seen = Volatile.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, now, seen) != seen)
        {
        }
        try
        {
            return await _answer(request, n, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    public static BackendResponse Success(ChatRequest request, string content = "ok") => new(OutcomeKind.Success)
    {
        StatusCode = 200,
        Content = content + ":" + request.RequestId,
        FinishReason = "stop",
        ModelUsed = request.Model + "-2024",
        Usage = new TokenUsage(5, 7),
        RawJson = "{\"id\":\"chatcmpl-" + request.RequestId + "\"}",
    };

    public static BackendResponse RateLimited(TimeSpan? retryAfter = null) => new(OutcomeKind.RateLimited)
    {
        StatusCode = 429,
        ErrorCode = "rate_limit_exceeded",
        ErrorMessage = "Rate limit reached for requests",
        RateLimits = new RateLimitInfo { RetryAfter = retryAfter },
    };

    public static BackendResponse QuotaExceeded() => new(OutcomeKind.QuotaExceeded)
    {
        StatusCode = 429,
        ErrorCode = "insufficient_quota",
        ErrorMessage = "You exceeded your current quota",
    };

    public static BackendResponse ServerError(int status = 503) => new(OutcomeKind.Transient)
    {
        StatusCode = status,
        ErrorMessage = "The server is overloaded",
    };

    public static BackendResponse BadRequest() => new(OutcomeKind.Permanent)
    {
        StatusCode = 400,
        ErrorCode = "invalid_request_error",
        ErrorMessage = "Bad request",
    };
}
