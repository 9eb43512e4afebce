using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
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
        var (tools, toolChoice) = Tools(options);

        var mapped = new List<EngineChatMessage>();
        if (!string.IsNullOrEmpty(options?.Instructions))
        {
            mapped.Add(EngineChatMessage.System(options.Instructions));
        }
        var index = 0;
        foreach (var message in messages)
        {
            ArgumentNullException.ThrowIfNull(message, $"messages[{index}]");
            Map(message, Role(message.Role, index), index, mapped);
            index++;
        }

        var request = new ChatRequest(model, mapped)
        {
            MaxTokens = options?.MaxOutputTokens,
            Temperature = options?.Temperature is { } t ? ToDouble(t) : null,
            ExtraBody = ExtraBody(options),
            Tools = tools,
            ToolChoice = toolChoice,
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

    /// <summary>
    /// Adds the engine messages for one MEAI message: its text, an assistant's <see cref="FunctionCallContent"/>s as tool
    /// calls, and a tool message's <see cref="FunctionResultContent"/>s as one <c>tool</c> message each (OpenAI takes one
    /// result per message; <c>UseFunctionInvocation()</c> puts all of a turn's results in one MEAI message).
    /// </summary>
    private static void Map(AiChatMessage message, string role, int index, List<EngineChatMessage> into)
    {
        string? single = null;
        StringBuilder? many = null;
        List<ToolCall>? calls = null;
        List<EngineChatMessage>? results = null;
        foreach (var content in message.Contents)
        {
            switch (content)
            {
                case TextContent piece:
                    if (single is null) single = piece.Text ?? "";
                    else (many ??= new StringBuilder(single)).Append(piece.Text);
                    break;
                case TextReasoningContent or UsageContent:
                    // Model output kept in a history: not sent back.
                    break;
                case FunctionCallContent call when role == "assistant":
                    (calls ??= []).Add(new ToolCall(call.CallId, call.Name, ArgumentsJson(call.Arguments)));
                    break;
                case FunctionResultContent result when role == "tool":
                    (results ??= []).Add(EngineChatMessage.Tool(result.CallId, ResultText(result.Result)));
                    break;
                case FunctionCallContent:
                    throw new NotSupportedException(
                        $"messages[{index}] is a '{role}' message holding a FunctionCallContent; function calls belong in assistant messages.");
                case FunctionResultContent:
                    throw new NotSupportedException(
                        $"messages[{index}] is a '{role}' message holding a FunctionResultContent; function results belong in tool messages.");
                default:
                    throw new NotSupportedException(
                        $"messages[{index}] holds {content.GetType().Name}; ActorThrottleChatClient sends text, function calls (assistant messages) " +
                        "and function results (tool messages) only: images, audio, files and hosted tools' contents are not supported.");
            }
        }
        var text = many?.ToString() ?? single;
        if (results is not null)
        {
            // As MEAI's OpenAI client does: a tool message sends its results; any text beside them has no place in OpenAI's format.
            into.AddRange(results);
        }
        else if (calls is not null)
        {
            into.Add(EngineChatMessage.Assistant(calls, string.IsNullOrEmpty(text) ? null : text));
        }
        else
        {
            into.Add(new EngineChatMessage(role, text ?? ""));
        }
    }

    /// <summary>MEAI's serializer options, but compact: indented JSON would cost prompt tokens on every later turn.</summary>
    private static readonly JsonSerializerOptions ToolJson = Compact(AIJsonUtilities.DefaultOptions);

    private static readonly JsonTypeInfo<IDictionary<string, object?>> ArgumentsType =
        (JsonTypeInfo<IDictionary<string, object?>>)ToolJson.GetTypeInfo(typeof(IDictionary<string, object?>));

    private static JsonSerializerOptions Compact(JsonSerializerOptions options)
    {
        var compact = new JsonSerializerOptions(options) { WriteIndented = false };
        compact.MakeReadOnly();
        return compact;
    }

    /// <summary>A call's arguments as the JSON object OpenAI expects (<c>{}</c> when there are none).</summary>
    internal static string ArgumentsJson(IDictionary<string, object?>? arguments) =>
        arguments is null ? "{}" : JsonSerializer.Serialize(arguments, ArgumentsType);

    /// <summary>A function's result as the tool message's content: a string as is, anything else as (compact) JSON — MEAI's own OpenAI client's rule.</summary>
    internal static string ResultText(object? result)
    {
        switch (result)
        {
            case null:
                return "";
            case string text:
                return text;
            default:
                try
                {
                    return JsonSerializer.Serialize(result, ToolJson.GetTypeInfo(typeof(object)));
                }
                catch (NotSupportedException)
                {
                    // A type the serializer cannot write: the model gets its text rather than nothing.
                    return Convert.ToString(result, CultureInfo.InvariantCulture) ?? "";
                }
        }
    }

    /// <summary><see cref="ChatOptions.Tools"/> and <see cref="ChatOptions.ToolMode"/> as the request's tools and tool choice.</summary>
    internal static (IReadOnlyList<ToolDefinition>? Tools, ToolChoice? Choice) Tools(ChatOptions? options)
    {
        if (options?.Tools is not { Count: > 0 } tools)
        {
            // A tool mode without tools means nothing to the provider (and OpenAI refuses tool_choice alone).
            return (null, null);
        }
        var definitions = new List<ToolDefinition>(tools.Count);
        foreach (var tool in tools)
        {
            if (tool is not AIFunctionDeclaration function)
            {
                throw new NotSupportedException(
                    $"ChatOptions.Tools holds {tool?.GetType().Name ?? "null"} '{tool?.Name}'; ActorThrottleChatClient sends function tools " +
                    "(AIFunction, AIFunctionDeclaration) only, not hosted tools.");
            }
            definitions.Add(new ToolDefinition(
                function.Name,
                string.IsNullOrEmpty(function.Description) ? null : function.Description,
                function.JsonSchema.ValueKind == JsonValueKind.Object ? function.JsonSchema.GetRawText() : null));
        }
        ToolChoice? choice = options.ToolMode switch
        {
            null => null,
            NoneChatToolMode => ToolChoice.None,
            AutoChatToolMode => ToolChoice.Auto,
            RequiredChatToolMode { RequiredFunctionName: { } name } => ToolChoice.Function(name),
            RequiredChatToolMode => ToolChoice.Required,
            var other => throw new NotSupportedException($"ChatOptions.ToolMode {other.GetType().Name} is not supported."),
        };
        return (definitions, choice);
    }

    /// <summary>A tool call of a reply as MEAI's function call, its arguments parsed (a parse error lands in <see cref="FunctionCallContent.Exception"/>).</summary>
    internal static FunctionCallContent ToFunctionCall(ToolCall call)
    {
        var content = FunctionCallContent.CreateFromParsedArguments(call.Arguments, call.Id, call.Name,
            static json => string.IsNullOrWhiteSpace(json) ? new Dictionary<string, object?>() : JsonSerializer.Deserialize(json, ArgumentsType));
        content.RawRepresentation = call;
        return content;
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
        if (options.Tools is { Count: > 0 } && options.AllowMultipleToolCalls is { } parallel)
        {
            body["parallel_tool_calls"] = parallel;
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
        var message = new AiChatMessage(ChatRole.Assistant, Contents(success))
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

    /// <summary>The reply's text (left out when the model only called tools), then one <see cref="FunctionCallContent"/> per tool call.</summary>
    private static List<AIContent> Contents(ChatSuccess success)
    {
        var contents = new List<AIContent>();
        if (!string.IsNullOrEmpty(success.Content) || success.ToolCalls is not { Count: > 0 })
        {
            contents.Add(new TextContent(success.Content ?? ""));
        }
        contents.AddRange(FunctionCalls(success));
        return contents;
    }

    /// <summary>The reply's tool calls as MEAI function calls, in order.</summary>
    public static IEnumerable<FunctionCallContent> FunctionCalls(ChatSuccess success) =>
        (success.ToolCalls ?? []).Select(ToFunctionCall);

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
