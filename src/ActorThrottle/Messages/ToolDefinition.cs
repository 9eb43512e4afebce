namespace ActorThrottle.Messages;

/// <summary>A function the model may call: written as <c>{"type":"function","function":{"name","description","parameters"}}</c> in <c>tools</c>.</summary>
/// <param name="Name">The function's name (OpenAI allows <c>a-z A-Z 0-9 _ -</c>, at most 64 characters).</param>
/// <param name="Description">What the function does, for the model; omitted when null.</param>
/// <param name="Parameters">A JSON Schema object (as text) describing the arguments, e.g.
/// <c>{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}</c>; omitted when null. Sent verbatim.</param>
public sealed record ToolDefinition(string Name, string? Description = null, string? Parameters = null);
