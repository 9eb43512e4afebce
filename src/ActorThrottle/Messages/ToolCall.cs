namespace ActorThrottle.Messages;

/// <summary>
/// A function the assistant asks the caller to run (OpenAI's <c>tool_calls[i]</c> of type <c>function</c>). It appears in
/// <see cref="ChatSuccess.ToolCalls"/>, and goes back to the provider in the assistant message of the next request
/// (<see cref="ChatMessage.ToolCalls"/>), followed by one <see cref="ChatMessage.Tool"/> message per call with its result.
/// </summary>
/// <param name="Id">The provider's id for this call (<c>call_…</c>); the tool message that answers it carries the same id.</param>
/// <param name="Name">The function's name, as declared in <see cref="ChatRequest.Tools"/>.</param>
/// <param name="Arguments">The arguments as the model wrote them: a JSON text, usually an object (<c>{"city":"Paris"}</c>).
/// Models may produce invalid JSON; parse it defensively.</param>
public sealed record ToolCall(string Id, string Name, string Arguments);
