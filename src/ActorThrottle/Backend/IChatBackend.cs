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

    /// <summary>
    /// One streamed attempt: calls <paramref name="onContent"/> with each piece of text as it arrives, in order, then
    /// answers like <see cref="SendAsync"/>; a success carries the whole text (and usage, when the provider sent it).
    /// A failure after some text was passed on is answered too (not thrown): the engine tells it apart by the text
    /// it already delivered. The default makes one <see cref="SendAsync"/> call and passes its text on in one piece,
    /// so a backend that cannot stream still serves streamed requests. A decorator around another backend must forward
    /// this method too, or its streams silently become one chunk.
    /// </summary>
    async Task<BackendResponse> StreamAsync(ChatRequest request, Action<string> onContent, CancellationToken cancellationToken)
    {
        var response = await SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response is { Kind: OutcomeKind.Success, Content: { Length: > 0 } content })
        {
            onContent(content);
        }
        return response;
    }
}
