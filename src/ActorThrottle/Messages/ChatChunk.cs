namespace ActorThrottle.Messages;

/// <summary>A piece of a streamed completion's text (see <see cref="ChatStreamRequest"/>).</summary>
/// <param name="RequestId">The request's id.</param>
/// <param name="Index">0 for the first chunk of the request, then 1, 2, …; chunks arrive in order.</param>
/// <param name="Content">The text to append.</param>
public sealed record ChatChunk(string RequestId, int Index, string Content);
