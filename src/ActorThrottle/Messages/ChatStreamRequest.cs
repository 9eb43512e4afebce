namespace ActorThrottle.Messages;

/// <summary>
/// A chat completion streamed token by token through the model's throttle. <c>Tell</c> it to the router with the actor
/// that should receive the stream as sender (or use <c>ActorThrottleClient.StreamAsync</c>): that actor receives zero or
/// more <see cref="ChatChunk"/>s in order, then exactly one <see cref="ChatReply"/>. Nothing follows the reply.
/// </summary>
/// <remarks>
/// A streamed call holds one of the model's in-flight slots until its stream ends. A 429 or transient error before the
/// first chunk is retried like any other attempt (and may fall back); once a chunk has been delivered, a failure ends the
/// request with <see cref="FailureReason.StreamInterrupted"/> and is never retried, so no text is delivered twice.
/// A <see cref="ChatSuccess"/> ending a stream carries the whole text, finish reason and usage; its <c>RawJson</c> is empty,
/// unless the model called tools: then it is the completion assembled from the chunks, and <see cref="ChatSuccess.ToolCalls"/>
/// lists the calls (tool-call pieces are not chunks: they arrive whole, on the reply).
/// <para>Send it with <c>Tell</c>, never <c>Ask</c> (an Ask takes one message; the router answers such a request
/// <see cref="FailureReason.InvalidRequest"/>). Chunks are told from the call's thread while a lock keeps them ahead of the
/// reply, so the receiving actor needs a mailbox that never blocks a sender (Akka's default unbounded one does).</para>
/// </remarks>
public sealed record ChatStreamRequest(ChatRequest Request);
