namespace ActorThrottle.Messages;

/// <summary>Token counts the provider reported for a completion.</summary>
public sealed record TokenUsage(int PromptTokens, int CompletionTokens)
{
    public int TotalTokens => PromptTokens + CompletionTokens;
}
