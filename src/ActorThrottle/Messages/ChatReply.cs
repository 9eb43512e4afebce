namespace ActorThrottle.Messages;

/// <summary>The one answer every <see cref="ChatRequest"/> gets.</summary>
/// <param name="RequestId">The request's id.</param>
/// <param name="Attempts">How many calls were made to the provider for it (0 when none was).</param>
public abstract record ChatReply(string RequestId, int Attempts);
