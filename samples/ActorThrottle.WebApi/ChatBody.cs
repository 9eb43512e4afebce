namespace ActorThrottle.WebApi;

/// <summary>The body of <c>POST /chat</c>.</summary>
/// <param name="Model">A model id (configured under <c>ActorThrottle:Models</c>, or created from the defaults).</param>
/// <param name="Message">The user message.</param>
/// <param name="MaxTokens">The completion's token cap; null: the model's <c>DefaultMaxTokens</c> is charged.</param>
/// <param name="Batch">True: the batch lane (leaves after interactive requests of the same model).</param>
public sealed record ChatBody(string Model, string Message, int? MaxTokens = null, bool Batch = false);
