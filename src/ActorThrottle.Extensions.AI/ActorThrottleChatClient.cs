using System.Runtime.CompilerServices;
using ActorThrottle.Messages;
using Microsoft.Extensions.AI;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace ActorThrottle.Extensions.AI;

/// <summary>
/// A Microsoft.Extensions.AI <see cref="IChatClient"/> whose every call goes through ActorThrottle: the model's
/// actor, its adaptive throttle, and its supervisor's retries. Thread-safe; one per application (or per default model)
/// is enough. Disposing it does not stop the engine.
/// </summary>
/// <remarks>
/// <para>Mapping: <see cref="ChatOptions.ModelId"/> (else the default model) picks the model's throttle;
/// <see cref="ChatOptions.MaxOutputTokens"/> becomes <c>max_tokens</c> (and what the token bucket charges);
/// <see cref="ChatOptions.Temperature"/> <c>temperature</c>; <see cref="ChatOptions.TopP"/>, <see cref="ChatOptions.TopK"/>,
/// penalties, <see cref="ChatOptions.Seed"/>, <see cref="ChatOptions.StopSequences"/>, <see cref="ChatOptions.ResponseFormat"/>
/// and <see cref="ChatOptions.Reasoning"/> go into the request body under their OpenAI names; every other
/// <see cref="ChatOptions.AdditionalProperties"/> entry is passed through as a body property, except the
/// <c>actor_throttle.*</c> keys of <see cref="ActorThrottleChatOptions"/> (priority, request id, deadline).
/// <see cref="ChatOptions.Instructions"/> become a leading system message.</para>
/// <para>Tools: the <see cref="AIFunctionDeclaration"/>s (<see cref="AIFunction"/>s) of <see cref="ChatOptions.Tools"/> become
/// <c>tools</c> (name, description, <see cref="AIFunctionDeclaration.JsonSchema"/> as parameters), <see cref="ChatOptions.ToolMode"/>
/// <c>tool_choice</c> and <see cref="ChatOptions.AllowMultipleToolCalls"/> <c>parallel_tool_calls</c>; an assistant message's
/// <see cref="FunctionCallContent"/>s become its <c>tool_calls</c>, and each <see cref="FunctionResultContent"/> of a tool message
/// a <c>tool</c> message (a string result as is, anything else as JSON). Tool calls in a reply come back as
/// <see cref="FunctionCallContent"/>s (in the last update when streaming), so <c>UseFunctionInvocation()</c> works over this client.
/// Hosted tools and non-text contents (images, audio, files) throw <see cref="NotSupportedException"/>.</para>
/// <para>Failures throw <see cref="ActorThrottleRequestException"/>; cancelling the token withdraws the request from its
/// queue and throws <see cref="OperationCanceledException"/>.</para>
/// </remarks>
public sealed class ActorThrottleChatClient : IChatClient
{
    /// <summary>The provider name reported in <see cref="ChatClientMetadata"/> (and so by MEAI's OpenTelemetry middleware).</summary>
    public const string ProviderName = "actor-throttle";

    private readonly TimeProvider _time;

    /// <param name="client">The engine's typed client (<c>ActorThrottleEngine.Client</c>, or the one <c>AddActorThrottleClient()</c> registers).</param>
    /// <param name="defaultModelId">The model used when <see cref="ChatOptions.ModelId"/> is not set.</param>
    /// <param name="providerUri">The endpoint reported in <see cref="ChatClientMetadata.ProviderUri"/>; informational only.</param>
    /// <param name="timeProvider">Clock for relative deadlines; default the system clock.</param>
    public ActorThrottleChatClient(ActorThrottleClient client, string? defaultModelId = null, Uri? providerUri = null, TimeProvider? timeProvider = null)
    {
        Client = client ?? throw new ArgumentNullException(nameof(client));
        if (defaultModelId is not null)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(defaultModelId);
        }
        DefaultModelId = defaultModelId;
        Metadata = new ChatClientMetadata(ProviderName, providerUri, defaultModelId);
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The engine client every call goes through.</summary>
    public ActorThrottleClient Client { get; }

    /// <summary>The model used when a call names none.</summary>
    public string? DefaultModelId { get; }

    /// <summary>Provider name <see cref="ProviderName"/>, the default model and the endpoint when given.</summary>
    public ChatClientMetadata Metadata { get; }

    /// <summary>
    /// Sends the conversation as one request through the model's throttle and waits for its one reply.
    /// </summary>
    /// <exception cref="ActorThrottleRequestException">The engine answered with a failure (rate limits exhausted, permanent error, queue full, …).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled: the request was withdrawn.</exception>
    /// <exception cref="NotSupportedException">Hosted (non-function) tools, or message contents other than text, function calls and function results.</exception>
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<AiChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var request = ChatMapping.ToRequest(messages, options, DefaultModelId, _time);
        cancellationToken.ThrowIfCancellationRequested();
        var reply = await Client.CompleteAsync(request, cancellationToken).ConfigureAwait(false);
        return reply switch
        {
            ChatSuccess success => ChatMapping.ToResponse(success),
            ChatFailure { Reason: FailureReason.Cancelled } => throw new OperationCanceledException(
                $"ActorThrottle request {reply.RequestId} was cancelled.", cancellationToken.IsCancellationRequested ? cancellationToken : CancellationToken.None),
            ChatFailure failure => throw new ActorThrottleRequestException(failure, request.Model),
            _ => throw new InvalidOperationException($"Unexpected reply {reply.GetType().Name}."),
        };
    }

    /// <summary>
    /// Streams the answer token by token through the model's throttle (a <see cref="ChatStreamRequest"/>): one
    /// <see cref="ChatResponseUpdate"/> per chunk as it arrives, then a last update with the finish reason, the model that
    /// answered and a <see cref="UsageContent"/>. The call holds one of the model's in-flight slots until the stream ends.
    /// A 429 or transient error before the first token is retried by the engine (nothing is yielded meanwhile); one after
    /// tokens have flowed throws <see cref="ActorThrottleRequestException"/> with <see cref="FailureReason.StreamInterrupted"/>.
    /// Cancelling the token, or leaving the enumeration early, withdraws the request and cancels the call.
    /// </summary>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<AiChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var request = ChatMapping.ToRequest(messages, options, DefaultModelId, _time);
        cancellationToken.ThrowIfCancellationRequested();
        var stream = await Client.StreamAsync(request, cancellationToken).ConfigureAwait(false);
        var createdAt = _time.GetUtcNow();
        await foreach (var chunk in stream.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            yield return new ChatResponseUpdate(ChatRole.Assistant, chunk.Content)
            {
                ResponseId = request.RequestId,
                MessageId = request.RequestId,
                ModelId = request.Model,
                CreatedAt = createdAt,
                RawRepresentation = chunk,
            };
        }
        var reply = await stream.Reply.ConfigureAwait(false);
        // A cancelled enumeration ends quietly; an answer that raced the cancel must not pass for a complete one.
        cancellationToken.ThrowIfCancellationRequested();
        if (reply is not ChatSuccess success)
        {
            throw reply switch
            {
                ChatFailure { Reason: FailureReason.Cancelled } => new OperationCanceledException(
                    $"ActorThrottle request {reply.RequestId} was cancelled.", cancellationToken.IsCancellationRequested ? cancellationToken : CancellationToken.None),
                ChatFailure failure => new ActorThrottleRequestException(failure, request.Model),
                _ => new InvalidOperationException($"Unexpected reply {reply.GetType().Name}."),
            };
        }
        var final = ChatMapping.ToResponse(success);
        List<AIContent> last = [.. ChatMapping.FunctionCalls(success)];
        if (final.Usage is { } usage)
        {
            last.Add(new UsageContent(usage));
        }
        yield return new ChatResponseUpdate(ChatRole.Assistant, last)
        {
            ResponseId = request.RequestId,
            MessageId = request.RequestId,
            ModelId = final.ModelId,
            FinishReason = final.FinishReason,
            CreatedAt = createdAt,
            RawRepresentation = success,
            AdditionalProperties = final.AdditionalProperties,
        };
    }

    /// <summary>
    /// <see cref="ChatClientMetadata"/>, <see cref="ActorThrottleClient"/>, or this client itself; null for anything else
    /// and for any <paramref name="serviceKey"/>.
    /// </summary>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
        {
            return null;
        }
        if (serviceType == typeof(ChatClientMetadata))
        {
            return Metadata;
        }
        if (serviceType == typeof(ActorThrottleClient))
        {
            return Client;
        }
        return serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <summary>Nothing to release: the engine belongs to its actor system.</summary>
    public void Dispose()
    {
    }
}
