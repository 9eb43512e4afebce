using ActorThrottle.Configuration;
using ActorThrottle.Messages;

namespace ActorThrottle.Tokens;

/// <summary>What a request costs at admission, and whether it can ever be admitted.</summary>
internal readonly record struct RequestCost(int PromptTokens, int MaxCompletionTokens)
{
    /// <summary>Prompt + max completion tokens: the charge against <c>tokens-per-minute</c>.</summary>
    public long Total => (long)PromptTokens + MaxCompletionTokens;

    /// <summary>Computes the cost; skips tokenizing when no token limit applies and the prompt is surely small enough.</summary>
    public static RequestCost Of(ChatRequest request, ModelSettings settings)
    {
        var maxCompletion = request.MaxTokens ?? settings.DefaultMaxTokens;
        // With tokens-per-minute = auto a token limit may be learned later: its charges must be real counts.
        if (settings.TokensPerMinute == 0 && !settings.AutoTokens)
        {
            var bound = TokenCounter.UpperBound(request);
            if (bound <= settings.MaxContextTokens)
            {
                return new RequestCost(bound, maxCompletion);
            }
        }
        return new RequestCost(TokenCounter.CountPrompt(request), maxCompletion);
    }

    /// <summary>
    /// Why the request can never be admitted, or null when it can: a prompt over <c>max-context-tokens</c>, or a cost over
    /// <c>tokens-per-minute</c> (the provider rejects those whatever the wait). The token bucket's capacity
    /// (<c>tokens-burst</c>) does not bound admission: a request costing more than it waits for a full bucket and is charged
    /// in full, so every admitted request can pass (<see cref="ModelSettings.TokenBucketCapacity"/>).
    /// </summary>
    public string? TooLargeReason(ModelSettings settings)
    {
        if (PromptTokens > settings.MaxContextTokens)
        {
            return $"The prompt has {PromptTokens} tokens; the model admits at most {settings.MaxContextTokens} (max-context-tokens).";
        }
        if (settings.TokensPerMinute > 0 && Total > settings.TokensPerMinute)
        {
            return $"The request costs {Total} tokens (prompt {PromptTokens} + max tokens {MaxCompletionTokens}); the model's budget is {settings.TokensPerMinute} per minute (tokens-per-minute), so it could never be sent.";
        }
        return null;
    }
}
