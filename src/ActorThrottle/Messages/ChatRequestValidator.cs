using System.Globalization;
using System.Text.Json;

namespace ActorThrottle.Messages;

/// <summary>Checks a request before anything is sent; the message names the offending field.</summary>
public static class ChatRequestValidator
{
    /// <summary>Null when the request is well-formed; otherwise why not.</summary>
    public static string? Validate(ChatRequest? request)
    {
        if (request is null)
        {
            return "The request is null.";
        }
        if (string.IsNullOrWhiteSpace(request.RequestId))
        {
            return "RequestId must not be blank.";
        }
        if (string.IsNullOrWhiteSpace(request.Model))
        {
            return "Model must not be blank.";
        }
        if (request.Messages is null || request.Messages.Count == 0)
        {
            return "Messages must hold at least one message.";
        }
        for (var i = 0; i < request.Messages.Count; i++)
        {
            var message = request.Messages[i];
            if (message is null)
            {
                return $"Messages[{i}] is null.";
            }
            if (string.IsNullOrWhiteSpace(message.Role))
            {
                return $"Messages[{i}].Role must not be blank.";
            }
            if (!ChatMessage.KnownRoles.Contains(message.Role))
            {
                return $"Messages[{i}].Role '{message.Role}' is not one of: {string.Join(", ", ChatMessage.KnownRoles)}.";
            }
            if (message.Content is null)
            {
                return $"Messages[{i}].Content must not be null.";
            }
        }
        if (request.MaxTokens is < 1)
        {
            return $"MaxTokens must be at least 1 (was {request.MaxTokens}).";
        }
        if (request.Temperature is { } t && (double.IsNaN(t) || t < 0 || t > 2))
        {
            return $"Temperature must be between 0 and 2 (was {t.ToString(CultureInfo.InvariantCulture)}).";
        }
        if (!Enum.IsDefined(request.Priority))
        {
            return $"Priority must be one of: {string.Join(", ", Enum.GetNames<Priority>())} (was {(int)request.Priority}).";
        }
        if (request.ExtraBody is { } extra && !string.IsNullOrWhiteSpace(extra))
        {
            try
            {
                using var document = JsonDocument.Parse(extra);
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                {
                    return "ExtraBody must be a JSON object.";
                }
            }
            catch (JsonException e)
            {
                return $"ExtraBody is not valid JSON: {e.Message}";
            }
        }
        return null;
    }
}
