using System.Threading.Channels;
using ActorThrottle.Diagnostics;
using ActorThrottle.Limits;
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
    private readonly Func<CancellationToken, Task<IActorRef>> _resolve;
    private IActorRef? _router;

    public ActorThrottleClient(IActorRef router)
    {
        _router = router ?? throw new ArgumentNullException(nameof(router));
        _resolve = _ => Task.FromResult(router);
    }

    /// <summary>
    /// A client whose router is looked up on first use (e.g. from Akka.Hosting's registry, which is filled only once the
    /// actor system has started), so it can be created before the system runs.
    /// </summary>
    public ActorThrottleClient(Func<CancellationToken, Task<IActorRef>> resolveRouter)
    {
        _resolve = resolveRouter ?? throw new ArgumentNullException(nameof(resolveRouter));
    }

    /// <summary>The router actor this client asks; null until a lazily resolved router was first used.</summary>
    public IActorRef? Router => Volatile.Read(ref _router);

    private async ValueTask<IActorRef> RouterAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _router) is { } router)
        {
            return router;
        }
        router = await _resolve(cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _router, router);
        return router;
    }

    /// <summary>
    /// Sends <paramref name="request"/> and waits for its one reply. Cancelling <paramref name="cancellationToken"/>
    /// withdraws the request: the reply is then a <see cref="FailureReason.Cancelled"/> failure (or the answer, if it
    /// was already on its way). The task itself is not cancelled, so the reply is never lost.
    /// </summary>
    public async Task<ChatReply> CompleteAsync(ChatRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        // The caller's trace travels inside the message: the request's span becomes its child.
        request = request.WithTraceContext();
        var router = await RouterAsync(cancellationToken).ConfigureAwait(false);
        var reply = router.Ask<ChatReply>(request, timeout: null);
        if (!cancellationToken.CanBeCanceled)
        {
            return await reply.ConfigureAwait(false);
        }
        await using var registration = cancellationToken.Register(() => router.Tell(new CancelRequest(request.Model, request.RequestId))).ConfigureAwait(false);
        return await reply.ConfigureAwait(false);
    }

    /// <summary>
    /// Sends <paramref name="request"/> as a streamed completion (<see cref="ChatStreamRequest"/>): enumerate the returned
    /// <see cref="ChatStream"/> for its text as it arrives, then await <see cref="ChatStream.Reply"/> for the one terminal
    /// reply. Cancelling <paramref name="cancellationToken"/> withdraws the request (queued or mid-stream), as does leaving
    /// the enumeration early; the reply is then a <see cref="FailureReason.Cancelled"/> failure.
    /// </summary>
    /// <example><code>
    /// var stream = await client.StreamAsync(new ChatRequest("gpt-4o-mini", [ChatMessage.User("Hello")]), ct);
    /// await foreach (var chunk in stream) Console.Write(chunk.Content);
    /// var reply = await stream.Reply;
    /// </code></example>
    public async Task<ChatStream> StreamAsync(ChatRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        request = request.WithTraceContext();
        var router = await RouterAsync(cancellationToken).ConfigureAwait(false);
        var chunks = Channel.CreateUnbounded<ChatChunk>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        void Withdraw() => router.Tell(new CancelRequest(request.Model, request.RequestId));
        if ((router as ActorRefWithCell)?.Underlying.System is not { } system)
        {
            // No local actor system to host the chunk receiver (a remote router): one ordinary call, its text as one chunk.
            return new ChatStream(request.RequestId, chunks.Reader, CompleteAsOneChunkAsync(request, chunks.Writer, cancellationToken), Withdraw);
        }
        var reply = new TaskCompletionSource<ChatReply>(TaskCreationOptions.RunContinuationsAsynchronously);
        var receiver = system.ActorOf(ChatStream.Receiver.Props(request.RequestId, chunks.Writer, reply));
        router.Tell(new ChatStreamRequest(request), receiver);
        if (cancellationToken.CanBeCanceled)
        {
            // Registered after the request was sent, so a cancel always follows it to the model.
            var registration = cancellationToken.Register(Withdraw);
            _ = reply.Task.ContinueWith(_ => registration.Dispose(), TaskScheduler.Default);
        }
        return new ChatStream(request.RequestId, chunks.Reader, reply.Task, Withdraw);
    }

    private async Task<ChatReply> CompleteAsOneChunkAsync(ChatRequest request, ChannelWriter<ChatChunk> chunks, CancellationToken cancellationToken)
    {
        try
        {
            var reply = await CompleteAsync(request, cancellationToken).ConfigureAwait(false);
            if (reply is ChatSuccess { Content: { Length: > 0 } text })
            {
                chunks.TryWrite(new ChatChunk(request.RequestId, 0, text));
            }
            return reply;
        }
        finally
        {
            chunks.TryComplete();
        }
    }

    /// <summary>Sends a request built from a model id and one user message.</summary>
    public Task<ChatReply> CompleteAsync(string model, string userMessage, CancellationToken cancellationToken = default) =>
        CompleteAsync(new ChatRequest(model, [ChatMessage.User(userMessage)]), cancellationToken);

    /// <summary>A model's current burst window, rate and pending count.</summary>
    public async Task<ModelStatus> GetStatusAsync(string model, TimeSpan? timeout = null) =>
        await (await RouterAsync(CancellationToken.None).ConfigureAwait(false))
            .Ask<ModelStatus>(new GetModelStatus(model), timeout ?? TimeSpan.FromSeconds(5)).ConfigureAwait(false);

    /// <summary>
    /// Changes a running model's limits (<see cref="ModelLimits"/>; fields left null keep their value) without losing a
    /// request it holds, and returns its status once they apply. A configured model not started yet is started with them.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// Nothing was applied: an unknown model (<c>ParamName</c> <c>model</c>), an invalid value, or a value that cannot change
    /// while the model runs (<c>ParamName</c> is the HOCON key, e.g. <c>max-burst</c>; the message names the field and why).
    /// </exception>
    /// <example><code>
    /// var status = await client.SetLimitsAsync("gpt-4o-mini", new ModelLimits { RequestsPerSecond = 20, MaxBurst = 5 });
    /// await client.SetLimitsAsync("gpt-4o-mini", new ModelLimits { AutoRate = true });   // requests-per-second = auto
    /// </code></example>
    public Task<ModelStatus> SetLimitsAsync(string model, ModelLimits limits, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(limits);
        return SendLimitsAsync(new SetModelLimits(model, limits), timeout);
    }

    /// <summary>
    /// Changes the limits of one deployment of a model that lists <c>deployments</c> (each has its own), as
    /// <see cref="SetLimitsAsync(string, ModelLimits, TimeSpan?)"/> does for a model; returns that deployment's status
    /// (its <c>Model</c> is <c>model@deployment</c>). <c>queue-size</c> belongs to the model and cannot be set here.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// Nothing was applied: as for a model, or a deployment the model does not list (<c>ParamName</c> <c>deployment</c>,
    /// the message names the ones it has), or a model without deployments (<c>ParamName</c> <c>deployment</c>).
    /// </exception>
    /// <example><code>
    /// await client.SetLimitsAsync("gpt-4o-mini", "azure-eu", new ModelLimits { RequestsPerSecond = 10 });
    /// </code></example>
    public Task<ModelStatus> SetLimitsAsync(string model, string deployment, ModelLimits limits, TimeSpan? timeout = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(deployment);
        ArgumentNullException.ThrowIfNull(limits);
        return SendLimitsAsync(new SetModelLimits(model, limits, deployment), timeout);
    }

    private async Task<ModelStatus> SendLimitsAsync(SetModelLimits message, TimeSpan? timeout)
    {
        var router = await RouterAsync(CancellationToken.None).ConfigureAwait(false);
        var reply = await router.Ask<ModelLimitsReply>(message, timeout ?? TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        return reply switch
        {
            ModelLimitsSet set => set.Status,
            ModelLimitsRejected rejected => throw new ArgumentException(rejected.Message, rejected.Field),
            _ => throw new InvalidOperationException($"Unexpected reply {reply.GetType().Name} to SetModelLimits."),
        };
    }
}
