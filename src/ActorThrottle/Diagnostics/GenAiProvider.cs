namespace ActorThrottle.Diagnostics;

/// <summary>The <c>gen_ai.provider.name</c> of an endpoint, by the OpenTelemetry GenAI conventions' well-known values.</summary>
internal static class GenAiProvider
{
    /// <summary>
    /// Azure OpenAI hosts are <c>azure.ai.openai</c>, Anthropic's <c>anthropic</c>; every other endpoint speaks the
    /// OpenAI chat-completions API (OpenAI, CometAPI, vLLM, Ollama) and is <c>openai</c>, as MEAI's OpenAI client names it.
    /// </summary>
    public static string Of(Uri endpoint)
    {
        var host = endpoint.Host;
        if (host.EndsWith(".openai.azure.com", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".services.ai.azure.com", StringComparison.OrdinalIgnoreCase))
        {
            return "azure.ai.openai";
        }
        if (host.Equals("api.anthropic.com", StringComparison.OrdinalIgnoreCase))
        {
            return "anthropic";
        }
        return "openai";
    }
}
