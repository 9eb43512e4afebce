using ActorThrottle.Messages;

namespace ActorThrottle.Backend;

/// <summary>
/// The one seam to the network: makes one attempt of a chat completion. Implementations must not retry
/// (the engine owns retries) and must not throw for provider or transport errors: they answer with a
/// <see cref="BackendResponse"/> of the right <see cref="OutcomeKind"/>. Only a cancellation of
/// the cancellation token may surface as <see cref="OperationCanceledException"/>.
/// </summary>
public interface IChatBackend
{
    Task<BackendResponse> SendAsync(ChatRequest request, CancellationToken cancellationToken);
}
