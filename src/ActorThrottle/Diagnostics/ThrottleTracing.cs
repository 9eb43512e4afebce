using System.Diagnostics;
using ActorThrottle.Backend;
using ActorThrottle.Configuration;
using ActorThrottle.Messages;
using ActorThrottle.Models;

namespace ActorThrottle.Diagnostics;

/// <summary>
/// Starts and ends the request and attempt spans. Request spans start and end on actor threads, so every call here
/// leaves <see cref="Activity.Current"/> as it found it: the next message an actor handles on that thread must not
/// inherit another request's span. Tags never carry the API key: model ids, hosts, ports, statuses and counts only.
/// </summary>
internal static class ThrottleTracing
{
    /// <summary>The request span, child of the caller's context the request carries (a root without one); null when nobody listens.</summary>
    public static Activity? StartRequest(ChatRequest request, ModelSettings settings)
    {
        var source = ActorThrottleTracing.Source;
        if (!source.HasListeners())
        {
            return null;
        }
        var previous = Activity.Current;
        // No carried context means a root span, not a child of whatever happens to be current on this thread.
        Activity.Current = null;
        var span = source.StartActivity($"throttle {settings.ModelId}", ActivityKind.Internal, ActorThrottleTracing.ParentOf(request));
        Activity.Current = previous;
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag(GenAiAttributes.RequestId, request.RequestId);
            span.SetTag(GenAiAttributes.Model, settings.ModelId);
            span.SetTag(GenAiAttributes.Priority, request.Priority == Priority.Batch ? "batch" : "interactive");
        }
        return span;
    }

    /// <summary>Ends the request span with its reply: outcome, attempts, queue wait (admission to the first send), error.type on a failure.</summary>
    public static void EndRequest(Activity? span, ChatReply reply, int attempts, TimeSpan? queueWait)
    {
        if (span is null)
        {
            return;
        }
        span.SetTag(GenAiAttributes.Attempts, attempts);
        if (queueWait is { } wait)
        {
            span.SetTag(GenAiAttributes.QueueWait, Math.Max(0, wait.TotalMilliseconds));
        }
        if (reply is ChatFailure failure)
        {
            var reason = OutcomeTag(failure.Reason);
            span.SetTag(GenAiAttributes.Outcome, reason);
            span.SetTag(GenAiAttributes.ErrorType, reason);
            if (failure.StatusCode is { } status)
            {
                span.SetTag(GenAiAttributes.HttpStatusCode, status);
            }
            // The reason only: a failure message may quote a provider's error text.
            span.SetStatus(ActivityStatusCode.Error, failure.Reason.ToString());
        }
        else
        {
            span.SetTag(GenAiAttributes.Outcome, "success");
        }
        Stop(span);
    }

    /// <summary>Ends the request span when the request leaves this model unanswered (a fallback, a hand-off): the next model's span continues the caller's trace.</summary>
    public static void EndHandedOn(Activity? span, string outcome, int attempts)
    {
        if (span is null)
        {
            return;
        }
        span.SetTag(GenAiAttributes.Attempts, attempts);
        span.SetTag(GenAiAttributes.Outcome, outcome);
        Stop(span);
    }

    /// <summary>A request answered at admission (queue full, too large, …): a request span of its own, ended at once.</summary>
    public static void Rejected(ChatRequest request, ModelSettings settings, ChatFailure failure) =>
        EndRequest(StartRequest(request, settings), failure, 0, null);

    /// <summary>
    /// The attempt span (GenAI client span <c>chat {model}</c>), child of the request span, made <see cref="Activity.Current"/>
    /// for the caller's async flow so the HTTP client span of the backend call becomes its child. Call it inside the async
    /// method that makes the call: the method's return restores the thread's previous context.
    /// </summary>
    public static Activity? StartAttempt(WorkItem item, ModelSettings settings, TimeSpan queueWait)
    {
        var source = ActorThrottleTracing.Source;
        if (!source.HasListeners())
        {
            return null;
        }
        var model = settings.ProviderModel ?? settings.ModelId;
        Activity.Current = null;
        var span = source.StartActivity($"{GenAiAttributes.Chat} {model}", ActivityKind.Client, item.Trace);
        if (span is { IsAllDataRequested: true })
        {
            var endpoint = settings.Route.Endpoint;
            span.SetTag(GenAiAttributes.OperationName, GenAiAttributes.Chat);
            span.SetTag(GenAiAttributes.RequestModel, model);
            span.SetTag(GenAiAttributes.ProviderName, GenAiProvider.Of(endpoint));
            span.SetTag(GenAiAttributes.ServerAddress, endpoint.Host);
            span.SetTag(GenAiAttributes.ServerPort, endpoint.Port);
            span.SetTag(GenAiAttributes.Attempt, item.Attempt);
            span.SetTag(GenAiAttributes.RequestId, item.Request.RequestId);
            span.SetTag(GenAiAttributes.QueueWait, Math.Max(0, queueWait.TotalMilliseconds));
            if (item.Request.MaxTokens is { } maxTokens)
            {
                span.SetTag(GenAiAttributes.RequestMaxTokens, maxTokens);
            }
        }
        return span;
    }

    /// <summary>Ends the attempt span with the backend's answer (null: the attempt was abandoned while in flight).</summary>
    public static void EndAttempt(Activity? span, BackendResponse? response)
    {
        if (span is null)
        {
            return;
        }
        if (response is null)
        {
            span.SetTag(GenAiAttributes.ErrorType, "cancelled");
            span.SetStatus(ActivityStatusCode.Error, "abandoned");
        }
        else
        {
            if (response.StatusCode is { } status)
            {
                span.SetTag(GenAiAttributes.HttpStatusCode, status);
            }
            if (response.Kind == OutcomeKind.Success)
            {
                if (response.ModelUsed is { } used)
                {
                    span.SetTag(GenAiAttributes.ResponseModel, used);
                }
                if (response.Usage is { } usage)
                {
                    span.SetTag(GenAiAttributes.InputTokens, usage.PromptTokens);
                    span.SetTag(GenAiAttributes.OutputTokens, usage.CompletionTokens);
                }
                if (response.FinishReason is { } finish)
                {
                    span.SetTag(GenAiAttributes.FinishReasons, new[] { finish });
                }
            }
            else
            {
                var errorType = ErrorType(response);
                span.SetTag(GenAiAttributes.ErrorType, errorType);
                span.SetStatus(ActivityStatusCode.Error, errorType);
            }
        }
        span.Stop();
    }

    /// <summary><c>error.type</c> of a failed attempt: the HTTP status when there was one, else the transport error's code, else <c>_OTHER</c>.</summary>
    public static string ErrorType(BackendResponse response) =>
        response.StatusCode is { } status ? status.ToString(System.Globalization.CultureInfo.InvariantCulture)
        : response.ErrorCode ?? "_OTHER";

    /// <summary>The outcome tag of a failure: snake case of its reason (dashboards key on it).</summary>
    public static string OutcomeTag(FailureReason reason) => reason switch
    {
        FailureReason.RateLimitedExhausted => "rate_limited_exhausted",
        FailureReason.QueueFull => "queue_full",
        FailureReason.TooLarge => "too_large",
        FailureReason.DeadlineExceeded => "deadline_exceeded",
        FailureReason.UnknownModel => "unknown_model",
        FailureReason.InvalidRequest => "invalid_request",
        FailureReason.ShuttingDown => "shutting_down",
        FailureReason.StreamInterrupted => "stream_interrupted",
        _ => reason.ToString().ToLowerInvariant(),
    };

    private static void Stop(Activity span)
    {
        var previous = Activity.Current;
        span.Stop();
        Activity.Current = previous;
    }
}
