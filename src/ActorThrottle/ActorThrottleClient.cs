using ActorThrottle.Messages;
using ActorThrottle.Models;
using Akka.Actor;

namespace ActorThrottle;

/// <summary>
/// A typed way to talk to the router for callers who prefer <c>await client.CompleteAsync(request, ct)</c> to a raw
/// <c>Ask</c>. Thread-safe; one per application is enough.
/// </summary>
public sealed class ActorThrottleClient
{
    public ActorThrottleClient(IActorRef router)
    {
        Router = router ?? throw new ArgumentNullException(nameof(router));
    }

    /// <summary>The router actor this client asks.</summary>
    public IActorRef Router { get; }

    /// <summary>
    /// Sends <paramref name="request"/> and waits for its one reply. Cancelling <paramref name="cancellationToken"/>
    /// withdraws the request: the reply is then a <see cref="FailureReason.Cancelled"/> failure (or the answer, if it
    /// was already on its way). The task itself is not cancelled, so the reply is never lost.
    /// </summary>
    public async Task<ChatReply> CompleteAsync(ChatRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var reply = Router.Ask<ChatReply>(request, timeout: null);
        if (!cancellationToken.CanBeCanceled)
        {
            return await reply.ConfigureAwait(false);
        }
        var router = Router;
        await using var registration = cancellationToken.Register(() => router.Tell(new CancelRequest(request.Model, request.RequestId))).ConfigureAwait(false);
        return await reply.ConfigureAwait(false);
    }

    /// <summary>Sends a request built from a model id and one user message.</summary>
    public Task<ChatReply> CompleteAsync(string model, string userMessage, CancellationToken cancellationToken = default) =>
        CompleteAsync(new ChatRequest(model, [ChatMessage.User(userMessage)]), cancellationToken);

    /// <summary>A model's current burst window, rate and pending count.</summary>
    public Task<ModelStatus> GetStatusAsync(string model, TimeSpan? timeout = null) =>
        Router.Ask<ModelStatus>(new GetModelStatus(model), timeout ?? TimeSpan.FromSeconds(5));
}
