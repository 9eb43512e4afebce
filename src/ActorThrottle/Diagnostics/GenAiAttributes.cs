namespace ActorThrottle.Diagnostics;

/// <summary>Attribute names: the OpenTelemetry GenAI and HTTP conventions, and the throttle's own.</summary>
internal static class GenAiAttributes
{
    public const string OperationName = "gen_ai.operation.name";
    public const string RequestModel = "gen_ai.request.model";
    public const string ResponseModel = "gen_ai.response.model";
    public const string ProviderName = "gen_ai.provider.name";
    public const string InputTokens = "gen_ai.usage.input_tokens";
    public const string OutputTokens = "gen_ai.usage.output_tokens";
    public const string FinishReasons = "gen_ai.response.finish_reasons";
    public const string RequestMaxTokens = "gen_ai.request.max_tokens";
    public const string TokenType = "gen_ai.token.type";
    public const string ServerAddress = "server.address";
    public const string ServerPort = "server.port";
    public const string ErrorType = "error.type";
    public const string HttpStatusCode = "http.response.status_code";
    public const string Chat = "chat";

    public const string RequestId = "actor_throttle.request_id";
    public const string Attempt = "actor_throttle.attempt";
    public const string Attempts = "actor_throttle.attempts";
    public const string Outcome = "actor_throttle.outcome";
    public const string QueueWait = "actor_throttle.queue_wait_ms";
    public const string Priority = "actor_throttle.priority";
    public const string Model = "actor_throttle.model";
}
