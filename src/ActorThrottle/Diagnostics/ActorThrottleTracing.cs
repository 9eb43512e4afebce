using System.Diagnostics;
using ActorThrottle.Messages;

namespace ActorThrottle.Diagnostics;

/// <summary>
/// The <c>ActorThrottle</c> <see cref="ActivitySource"/> (OpenTelemetry: <c>.AddSource("ActorThrottle")</c>) and the
/// W3C trace context a <see cref="ChatRequest"/> carries across the actor (and across nodes in cluster mode).
/// Spans: <c>throttle {model}</c> (Internal) from admission to the one reply, and per attempt a GenAI client span
/// <c>chat {model}</c> (Client), parent of the HTTP client span the OpenAI SDK's call makes.
/// </summary>
public static class ActorThrottleTracing
{
    /// <summary>The name of the activity source.</summary>
    public const string SourceName = "ActorThrottle";

    /// <summary>The source every ActorThrottle span comes from.</summary>
    public static ActivitySource Source { get; } = new(SourceName, typeof(ActorThrottleTracing).Assembly.GetName().Version?.ToString());

    /// <summary>
    /// <paramref name="request"/> carrying <paramref name="activity"/>'s (default: <see cref="Activity.Current"/>) W3C trace
    /// context, so the request's span becomes its child. A request that already carries a context, or no activity, is returned as is.
    /// </summary>
    public static ChatRequest WithTraceContext(this ChatRequest request, Activity? activity = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        activity ??= Activity.Current;
        if (request.TraceParent is not null || activity is null || activity.IdFormat != ActivityIdFormat.W3C)
        {
            return request;
        }
        return request with { TraceParent = TraceParentOf(activity.Context), TraceState = activity.TraceStateString };
    }

    /// <summary>The W3C <c>traceparent</c> of <see cref="Activity.Current"/>, or null (no activity, or not W3C).</summary>
    internal static string? CurrentTraceParent() =>
        Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? TraceParentOf(current.Context) : null;

    /// <summary>The <c>tracestate</c> of <see cref="Activity.Current"/>.</summary>
    internal static string? CurrentTraceState() =>
        Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current.TraceStateString : null;

    /// <summary>Formats <paramref name="context"/> as a W3C <c>traceparent</c> (version 00).</summary>
    internal static string TraceParentOf(ActivityContext context) =>
        $"00-{context.TraceId.ToHexString()}-{context.SpanId.ToHexString()}-{((context.TraceFlags & ActivityTraceFlags.Recorded) != 0 ? "01" : "00")}";

    /// <summary>The caller's context carried by <paramref name="request"/>; default (no parent) when absent or malformed.</summary>
    internal static ActivityContext ParentOf(ChatRequest request) =>
        request.TraceParent is { } parent && ActivityContext.TryParse(parent, request.TraceState, isRemote: true, out var context) ? context : default;
}
