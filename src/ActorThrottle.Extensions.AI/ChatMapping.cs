using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ActorThrottle.Messages;
using Microsoft.Extensions.AI;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;
using EngineChatMessage = ActorThrottle.Messages.ChatMessage;

namespace ActorThrottle.Extensions.AI;

/// <summary>Maps Microsoft.Extensions.AI messages and options to a <see cref="ChatRequest"/>, and replies back.</summary>
internal static class ChatMapping
{
    public static ChatRequest ToRequest(IEnumerable<AiChatMessage> messages, ChatOptions? options, string? defaultModelId, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var model = options?.ModelId ?? defaultModelId;
        if (string.IsNullOrWhiteSpace(model))
        {
            throw new InvalidOperationException(
                "No model: set ChatOptions.ModelId or give ActorThrottleChatClient a default model id.");
        }
        if (options?.Tools is { Count: > 0 })
        {
            throw new NotSupportedException(
                "ActorThrottleChatClient does not send tools yet (the engine's messages carry text only): ChatOptions.Tools must be empty.");
        }

        var mapped = new List<EngineChatMessage>();
        if (!string.IsNullOrEmpty(options?.Instructions))
        {
            mapped.Add(EngineChatMessage.System(options.Instructions));
        }
        var index = 0;
        foreach (var message in messages)
        {
            ArgumentNullException.ThrowIfNull(message, $"messages[{index}]");
            mapped.Add(new EngineChatMessage(Role(message.Role, index), Text(message, index)));
            index++;
        }

        var request = new ChatRequest(model, mapped)
        {
            MaxTokens = options?.MaxOutputTokens,
            Temperature = options?.Temperature is { } t ? ToDouble(t) : null,
            ExtraBody = ExtraBody(options),
        };
        if (options?.AdditionalProperties is { } properties)
        {
            if (properties.TryGetValue(ActorThrottleChatOptions.RequestIdKey, out var id) && AsString(id) is { Length: > 0 } requestId)
            {
                request = request with { RequestId = requestId };
            }
            if (properties.TryGetValue(ActorThrottleChatOptions.PriorityKey, out var priority) && priority is not null)
            {
                request = request with { Priority = ParsePriority(priority) };
            }
            if (properties.TryGetValue(ActorThrottleChatOptions.DeadlineKey, out var deadline) && deadline is not null)
            {
                request = request with { Deadline = ParseDeadline(deadline, time) };
            }
        }
        return request;
    }

    private static string Role(ChatRole role, int index)
    {
        if (role == ChatRole.System) return "system";
        if (role == ChatRole.User) return "user";
        if (role == ChatRole.Assistant) return "assistant";
        if (role == ChatRole.Tool) return "tool";
        var value = role.Value.ToLowerInvariant();
        if (EngineChatMessage.KnownRoles.Contains(value))
        {
            return value;
        }
        throw new ArgumentException(
            $"messages[{index}] has role '{role.Value}'; ActorThrottle sends one of: {string.Join(", ", EngineChatMessage.KnownRoles)}.", "messages");
    }

    private static string Text(AiChatMessage message, int index)
    {
        string? single = null;
        System.Text.StringBuilder? many = null;
        foreach (var content in message.Contents)
        {
            switch (content)
            {
                case TextContent text:
                    if (single is null) single = text.Text ?? "";
                    else (many ??= new System.Text.StringBuilder(single)).Append(text.Text);
                    break;
                case TextReasoningContent or UsageContent:
                    // Model output kept in a history: not sent back.
                    break;
                default:
                    throw new NotSupportedException(
                        $"messages[{index}] holds {content.GetType().Name}; ActorThrottleChatClient sends text content only.");
            }
        }
        return many?.ToString() ?? single ?? "";
    }

    /// <summary>The options OpenAI understands that <see cref="ChatRequest"/> has no field for, as a JSON object; null when none.</summary>
    internal static string? ExtraBody(ChatOptions? options)
    {
        if (options is null)
        {
            return null;
        }
        var body = new JsonObject();
        if (options.TopP is { } topP) body["top_p"] = topP;
        if (options.TopK is { } topK) body["top_k"] = topK;
        if (options.FrequencyPenalty is { } frequency) body["frequency_penalty"] = frequency;
        if (options.PresencePenalty is { } presence) body["presence_penalty"] = presence;
        if (options.Seed is { } seed) body["seed"] = seed;
        if (options.StopSequences is { Count: > 0 } stops)
        {
            body["stop"] = new JsonArray(stops.Select(s => (JsonNode?)JsonValue.Create(s)).ToArray());
        }
        if (options.ResponseFormat is ChatResponseFormatJson json)
        {
            if (json.Schema is { } schema)
            {
                var format = new JsonObject { ["name"] = json.SchemaName ?? "response" };
                if (json.SchemaDescription is { } description) format["description"] = description;
                format["schema"] = JsonNode.Parse(schema.GetRawText());
                body["response_format"] = new JsonObject { ["type"] = "json_schema", ["json_schema"] = format };
            }
            else
            {
                body["response_format"] = new JsonObject { ["type"] = "json_object" };
            }
        }
        if (options.Reasoning?.Effort is { } effort)
        {
            body["reasoning_effort"] = effort switch
            {
                ReasoningEffort.None => "none",
                ReasoningEffort.Low => "low",
                ReasoningEffort.Medium => "medium",
                ReasoningEffort.High => "high",
                ReasoningEffort.ExtraHigh => "xhigh",
                _ => effort.ToString().ToLowerInvariant(),
            };
        }
        if (options.AdditionalProperties is { } properties)
        {
            foreach (var (key, value) in properties)
            {
                if (key.StartsWith(ActorThrottleChatOptions.Prefix, StringComparison.Ordinal))
                {
                    continue;
                }
                // Passed through as the provider's own parameter; it wins over a mapped option of the same name.
                body[key] = value is null ? null : JsonSerializer.SerializeToNode(value, value.GetType(), AIJsonUtilities.DefaultOptions);
            }
        }
        return body.Count == 0 ? null : body.ToJsonString();
    }

    private static double ToDouble(float value) =>
        double.Parse(value.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    private static string? AsString(object? value) => value switch
    {
        null => null,
        string s => s,
        JsonElement { ValueKind: JsonValueKind.String } e => e.GetString(),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture),
    };

    private static Priority ParsePriority(object value)
    {
        if (value is Priority p)
        {
            return p;
        }
        var text = AsString(value);
        if (Enum.TryParse<Priority>(text, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) && !int.TryParse(text, out _))
        {
            return parsed;
        }
        throw new ArgumentException(
            $"ChatOptions.AdditionalProperties[\"{ActorThrottleChatOptions.PriorityKey}\"] must be \"interactive\" or \"batch\" (was '{text}').", "options");
    }

    private static DateTimeOffset ParseDeadline(object value, TimeProvider time) => value switch
    {
        DateTimeOffset at => at.ToUniversalTime(),
        DateTime at => new DateTimeOffset(at.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(at, DateTimeKind.Utc) : at).ToUniversalTime(),
        TimeSpan budget => time.GetUtcNow() + budget,
        string s when DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) => at.ToUniversalTime(),
        _ => throw new ArgumentException(
            $"ChatOptions.AdditionalProperties[\"{ActorThrottleChatOptions.DeadlineKey}\"] must be a DateTimeOffset, a DateTime or a TimeSpan (was {value.GetType().Name}).", "options"),
    };

    public static ChatResponse ToResponse(ChatSuccess success)
    {
        var raw = RawFacts.Read(success.RawJson);
        var message = new AiChatMessage(ChatRole.Assistant, success.Content ?? "")
        {
            MessageId = raw.Id ?? success.RequestId,
            RawRepresentation = success,
        };
        var response = new ChatResponse(message)
        {
            ResponseId = raw.Id ?? success.RequestId,
            ModelId = success.ModelUsed,
            FinishReason = FinishReason(success.FinishReason),
            CreatedAt = raw.Created,
            RawRepresentation = success,
            AdditionalProperties = new AdditionalPropertiesDictionary
            {
                [ActorThrottleChatOptions.RequestIdKey] = success.RequestId,
                [ActorThrottleChatOptions.AttemptsKey] = success.Attempts,
                [ActorThrottleChatOptions.LatencyKey] = success.Latency,
            },
        };
        if (success.Usage is { } usage)
        {
            response.Usage = new UsageDetails
            {
                InputTokenCount = usage.PromptTokens,
                OutputTokenCount = usage.CompletionTokens,
                TotalTokenCount = usage.TotalTokens,
                CachedInputTokenCount = raw.CachedTokens,
                ReasoningTokenCount = raw.ReasoningTokens,
            };
        }
        return response;
    }

    public static ChatFinishReason? FinishReason(string? value) => value switch
    {
        null or "" => null,
        "stop" => ChatFinishReason.Stop,
        "length" => ChatFinishReason.Length,
        "tool_calls" or "function_call" => ChatFinishReason.ToolCalls,
        "content_filter" => ChatFinishReason.ContentFilter,
        _ => new ChatFinishReason(value),
    };

    /// <summary>The few facts of the raw body that <see cref="ChatSuccess"/> has no field for.</summary>
    private readonly record struct RawFacts(string? Id, DateTimeOffset? Created, long? CachedTokens, long? ReasoningTokens)
    {
        public static RawFacts Read(string? rawJson)
        {
            if (string.IsNullOrWhiteSpace(rawJson))
            {
                return default;
            }
            try
            {
                using var document = JsonDocument.Parse(rawJson);
                var root = document.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                {
                    return default;
                }
                string? id = root.TryGetProperty("id", out var i) && i.ValueKind == JsonValueKind.String ? i.GetString() : null;
                DateTimeOffset? created = root.TryGetProperty("created", out var c) && c.TryGetInt64(out var seconds)
                    ? DateTimeOffset.FromUnixTimeSeconds(seconds) : null;
                long? cached = null, reasoning = null;
                if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
                {
                    cached = Number(usage, "prompt_tokens_details", "cached_tokens");
                    reasoning = Number(usage, "completion_tokens_details", "reasoning_tokens");
                }
                return new RawFacts(id, created, cached, reasoning);
            }
            catch (JsonException)
            {
                return default;
            }
        }

        private static long? Number(JsonElement usage, string details, string name) =>
            usage.TryGetProperty(details, out var d) && d.ValueKind == JsonValueKind.Object
            && d.TryGetProperty(name, out var n) && n.TryGetInt64(out var value) ? value : null;
    }
}
