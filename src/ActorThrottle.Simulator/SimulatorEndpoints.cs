using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace ActorThrottle.Simulator;

/// <summary>The HTTP routes of one run of the simulator.</summary>
internal sealed class SimulatorEndpoints
{
    private readonly SimulatedProvider _provider;
    private readonly TimeProvider _time;
    private readonly byte[]? _expectedAuthorization;
    private readonly CancellationToken _stopping;

    public SimulatorEndpoints(SimulatedProvider provider, TimeProvider time, string? apiKey, CancellationToken stopping)
    {
        _provider = provider;
        _time = time;
        _expectedAuthorization = string.IsNullOrEmpty(apiKey) ? null : Encoding.UTF8.GetBytes("Bearer " + apiKey);
        _stopping = stopping;
    }

    public void Map(IEndpointRouteBuilder routes)
    {
        routes.MapPost("/v1/chat/completions", ChatCompletionsAsync);
        routes.MapGet("/v1/models", ModelsAsync);
        routes.MapGet("/admin/stats", StatsAsync);
        routes.MapDelete("/admin/stats", ResetStats);
        routes.MapGet("/admin/models/{**id}", GetModelAsync);
        routes.MapPut("/admin/models/{**id}", PutModelAsync);
        routes.MapPatch("/admin/models/{**id}", PatchModelAsync);
    }

    private async Task ChatCompletionsAsync(HttpContext context)
    {
        if (!await AuthorizedAsync(context))
        {
            return;
        }

        string model;
        int promptTokens;
        string? toolCall;
        int? maxTokens;
        bool stream;
        bool includeUsage;
        try
        {
            using var body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            var root = body.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("model", out var modelElement)
                || modelElement.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(modelElement.GetString()))
            {
                await InvalidAsync(context, "you must provide a model parameter", "model");
                return;
            }

            model = modelElement.GetString()!;
            if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
            {
                await InvalidAsync(context, "'messages' must be a non-empty array", "messages");
                return;
            }

            promptTokens = PromptTokenCounter.CountMessages(messages) + PromptTokenCounter.CountTools(root);
            toolCall = ToolCallReply.FunctionFor(root, messages);
            maxTokens = ReadMaxTokens(root, "max_completion_tokens") ?? ReadMaxTokens(root, "max_tokens");
            if (maxTokens is < 0)
            {
                await InvalidAsync(context, "max_tokens must be >= 0", "max_tokens");
                return;
            }

            if (!TryReadBoolean(root, "stream", out stream))
            {
                await InvalidAsync(context, "'stream' must be a boolean", "stream");
                return;
            }

            includeUsage = false;
            if (root.TryGetProperty("stream_options", out var streamOptions) && streamOptions.ValueKind != JsonValueKind.Null)
            {
                // OpenAI's own rules: options only with a stream, and include_usage a boolean.
                if (!stream)
                {
                    await InvalidAsync(context, "The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options");
                    return;
                }

                if (streamOptions.ValueKind != JsonValueKind.Object || !TryReadBoolean(streamOptions, "include_usage", out includeUsage))
                {
                    await InvalidAsync(context, "'stream_options.include_usage' must be a boolean", "stream_options");
                    return;
                }
            }
        }
        catch (JsonException)
        {
            await InvalidAsync(context, "The request body is not valid JSON.", null);
            return;
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            await InvalidAsync(context, "max_tokens must be an integer", "max_tokens");
            return;
        }

        var runtime = _provider.Resolve(model);
        if (runtime is null)
        {
            await ResponseWriter.WriteErrorAsync(
                context, StatusCodes.Status404NotFound,
                $"The model `{model}` does not exist or you do not have access to it.", "invalid_request_error", "model_not_found");
            return;
        }

        var decision = runtime.Decide(promptTokens, maxTokens, stream);
        try
        {
            await RespondAsync(context, runtime, model, promptTokens, decision, includeUsage, toolCall);
        }
        finally
        {
            // A concurrency slot is held until the answer (or the abort) is done, whichever way it ends.
            runtime.Release(decision);
        }
    }

    private async Task RespondAsync(HttpContext context, ModelRuntime runtime, string model, int promptTokens, Decision decision, bool includeUsage, string? toolCall)
    {
        var response = context.Response;
        switch (decision.Outcome)
        {
            case Outcome.QuotaExceeded:
                ResponseWriter.WriteRateLimitHeaders(response, decision.HeaderMode, decision.Facts, null, _time.GetUtcNow());
                await ResponseWriter.WriteErrorAsync(
                    context, StatusCodes.Status429TooManyRequests,
                    "You exceeded your current quota, please check your plan and billing details.", "insufficient_quota", "insufficient_quota");
                return;
            case Outcome.RateLimited:
                await RateLimitedAsync(context, model, decision, _time.GetUtcNow());
                return;
            case Outcome.Outage:
                ResponseWriter.WriteRateLimitHeaders(response, decision.HeaderMode, decision.Facts, null, _time.GetUtcNow());
                if (decision.OutageStatus == 529)
                {
                    await ResponseWriter.WriteOverloadedAsync(context);
                }
                else
                {
                    await ResponseWriter.WriteErrorAsync(context, decision.OutageStatus, "The engine is currently overloaded, please try again later.", "server_error", null);
                }

                return;
        }

        // Latency (and hangs) are awaited outside any lock; a stop or a departed client ends the wait.
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping);
        try
        {
            if (decision.Latency > TimeSpan.Zero)
            {
                await Task.Delay(decision.Latency, _time, linked.Token);
            }

            if (decision.Outcome == Outcome.Hang)
            {
                await Task.Delay(decision.HangDuration, _time, linked.Token);
            }
        }
        catch (OperationCanceledException)
        {
            context.Abort();
            return;
        }

        switch (decision.Outcome)
        {
            case Outcome.Success:
                if (decision.Refund > 0)
                {
                    runtime.Refund(decision.Refund);
                }

                // Headers show the state after the reply, refund included.
                ResponseWriter.WriteRateLimitHeaders(response, decision.HeaderMode, runtime.Facts(), null, _time.GetUtcNow());
                if (decision.Stream)
                {
                    await StreamAsync(context, model, promptTokens, decision, includeUsage, toolCall, linked.Token);
                    return;
                }

                await ResponseWriter.WriteCompletionAsync(
                    context, model, _time.GetUtcNow().ToUnixTimeSeconds(), promptTokens, decision.CompletionTokens,
                    decision.FinishReason, toolCall);
                return;
            case Outcome.StreamBreak:
                ResponseWriter.WriteRateLimitHeaders(response, decision.HeaderMode, runtime.Facts(), null, _time.GetUtcNow());
                await StreamAsync(context, model, promptTokens, decision, includeUsage, toolCall, linked.Token);
                return;
            case Outcome.Reset:
                context.Abort();
                return;
            case Outcome.Hang:
                ResponseWriter.WriteRateLimitHeaders(response, decision.HeaderMode, runtime.Facts(), null, _time.GetUtcNow());
                await ResponseWriter.WriteErrorAsync(context, StatusCodes.Status504GatewayTimeout, "Gateway timeout.", "server_error", null);
                return;
            default:
                var (status, message) = decision.Outcome switch
                {
                    Outcome.Error500 => (500, "The server had an error while processing your request. Sorry about that!"),
                    Outcome.Error502 => (502, "Bad gateway."),
                    _ => (503, "The engine is currently overloaded, please try again later."),
                };
                ResponseWriter.WriteRateLimitHeaders(response, decision.HeaderMode, runtime.Facts(), null, _time.GetUtcNow());
                await ResponseWriter.WriteErrorAsync(context, status, message, "server_error", null);
                return;
        }
    }

    /// <summary>
    /// Sends the completion as server-sent events, pausing before each content chunk; a stream break aborts the
    /// connection after the decided number of content chunks, so the client sees a 200 that ends early. A tool call is
    /// sent as OpenAI does: the id and name in one delta, the arguments in the next, then <c>finish_reason: tool_calls</c>
    /// (a break then comes after the first of those deltas).
    /// </summary>
    private async Task StreamAsync(HttpContext context, string model, int promptTokens, Decision decision, bool includeUsage, string? toolCall, CancellationToken cancellationToken)
    {
        using var writer = new CompletionChunkWriter(context.Response, model, _time.GetUtcNow().ToUnixTimeSeconds(), includeUsage);
        try
        {
            await writer.WriteRoleAsync(cancellationToken);
            if (toolCall is not null)
            {
                if (decision.ChunkInterval > TimeSpan.Zero)
                {
                    await Task.Delay(decision.ChunkInterval, _time, cancellationToken);
                }

                await writer.WriteToolCallStartAsync(toolCall, cancellationToken);
                if (decision.BreakAfterChunks > 0)
                {
                    await writer.WriteBreakPaddingAsync(cancellationToken);
                    context.Abort();
                    return;
                }

                await writer.WriteToolCallArgumentsAsync(ToolCallReply.Arguments, cancellationToken);
                await writer.WriteFinishAsync("tool_calls", cancellationToken);
                if (includeUsage)
                {
                    await writer.WriteUsageAsync(promptTokens, decision.CompletionTokens, cancellationToken);
                }

                await writer.WriteDoneAsync(cancellationToken);
                return;
            }

            var sent = 0;
            foreach (var piece in CompletionText.Chunks(decision.CompletionTokens, decision.ChunkTokens))
            {
                if (decision.ChunkInterval > TimeSpan.Zero)
                {
                    await Task.Delay(decision.ChunkInterval, _time, cancellationToken);
                }

                await writer.WriteContentAsync(piece, cancellationToken);
                if (++sent == decision.BreakAfterChunks)
                {
                    await writer.WriteBreakPaddingAsync(cancellationToken);
                    context.Abort();
                    return;
                }
            }

            await writer.WriteFinishAsync(decision.FinishReason, cancellationToken);
            if (includeUsage)
            {
                await writer.WriteUsageAsync(promptTokens, decision.CompletionTokens, cancellationToken);
            }

            await writer.WriteDoneAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // The client left or the simulator is stopping: end the stream without its [DONE].
            context.Abort();
        }
    }

    private static async Task RateLimitedAsync(HttpContext context, string model, Decision decision, DateTimeOffset now)
    {
        var (message, type, retryAfter) = RateLimitedAnswer(model, decision.Admission);
        ResponseWriter.WriteRateLimitHeaders(context.Response, decision.HeaderMode, decision.Facts, retryAfter, now);
        await ResponseWriter.WriteErrorAsync(context, StatusCodes.Status429TooManyRequests, message, type, "rate_limit_exceeded");
    }

    /// <summary>
    /// The error message, error type and <c>retry-after</c> of a rejected request (the 429's code is always
    /// <c>rate_limit_exceeded</c>); the virtual-time matrix of the tests answers with it too.
    /// </summary>
    internal static (string Message, string Type, TimeSpan? RetryAfter) RateLimitedAnswer(string model, Admission admission)
    {
        var limit = admission.Limit.ToString("0.##", CultureInfo.InvariantCulture);
        var requested = admission.Requested.ToString("0.##", CultureInfo.InvariantCulture);
        var type = admission.RejectedBy == LimitKind.Tokens ? "tokens" : "requests";
        if (admission.TooLarge)
        {
            return ($"Request too large for {model} on {admission.LimitName}: Limit {limit}, Requested {requested}. The input or output tokens must be reduced in order to run successfully.", type, null);
        }

        if (admission.RejectedBy == LimitKind.Concurrency)
        {
            // A concurrency cap cannot say when a slot frees up, and real ones do not try.
            return ($"Too many concurrent requests for {model}: Limit {limit}. Please retry when an earlier request has finished.", type, null);
        }

        return ($"Rate limit reached for {type} on {model} ({admission.LimitName}): Limit {limit}, Requested {requested}. Please try again in {GoDuration.FormatMilliseconds(admission.RetryAfter)}.", type, admission.RetryAfter);
    }

    private async Task ModelsAsync(HttpContext context)
    {
        if (!await AuthorizedAsync(context))
        {
            return;
        }

        var response = context.Response;
        response.ContentType = "application/json";
        var created = _time.GetUtcNow().ToUnixTimeSeconds();
        using (var json = new Utf8JsonWriter(response.BodyWriter))
        {
            json.WriteStartObject();
            json.WriteString("object", "list");
            json.WriteStartArray("data");
            foreach (var id in _provider.KnownModels)
            {
                json.WriteStartObject();
                json.WriteString("id", id);
                json.WriteString("object", "model");
                json.WriteNumber("created", created);
                json.WriteString("owned_by", "actorthrottle-simulator");
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        await response.BodyWriter.FlushAsync(context.RequestAborted);
    }

    private Task StatsAsync(HttpContext context) =>
        context.Response.WriteAsJsonAsync(_provider.GetStats(), SimulatorJson.Options, context.RequestAborted);

    private IResult ResetStats()
    {
        _provider.ResetStats();
        return Results.NoContent();
    }

    private Task GetModelAsync(HttpContext context)
    {
        var id = (string)context.GetRouteValue("id")!;
        return context.Response.WriteAsJsonAsync(_provider.GetModelSettings(id), SimulatorJson.Options, context.RequestAborted);
    }

    private Task PutModelAsync(HttpContext context) => ApplyModelAsync(context, merge: false);

    private Task PatchModelAsync(HttpContext context) => ApplyModelAsync(context, merge: true);

    /// <summary>PUT replaces the settings (absent fields take their defaults); PATCH overlays the body on the current ones.</summary>
    private async Task ApplyModelAsync(HttpContext context, bool merge)
    {
        var id = (string)context.GetRouteValue("id")!;
        ModelSettings? settings;
        try
        {
            var body = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            if (body is not JsonObject patch)
            {
                await InvalidAsync(context, "The body must be a JSON object of model settings.", null);
                return;
            }

            if (merge)
            {
                var current = JsonSerializer.SerializeToNode(_provider.GetModelSettings(id), SimulatorJson.Options)!.AsObject();
                foreach (var (name, value) in patch.ToList())
                {
                    patch.Remove(name);
                    var existing = current.FirstOrDefault(p => string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase)).Key;
                    current[existing ?? name] = value;
                }

                patch = current;
            }

            settings = patch.Deserialize<ModelSettings>(SimulatorJson.Options);
            if (settings is null)
            {
                await InvalidAsync(context, "The body must be a JSON object of model settings.", null);
                return;
            }

            settings.Validate();
        }
        catch (Exception e) when (e is JsonException or ArgumentException or FormatException or InvalidOperationException)
        {
            await InvalidAsync(context, e.Message, null);
            return;
        }

        _provider.SetModelSettings(id, settings);
        await context.Response.WriteAsJsonAsync(settings, SimulatorJson.Options, context.RequestAborted);
    }

    private async Task<bool> AuthorizedAsync(HttpContext context)
    {
        if (_expectedAuthorization is null)
        {
            return true;
        }

        var given = Encoding.UTF8.GetBytes(context.Request.Headers.Authorization.ToString());
        if (CryptographicOperations.FixedTimeEquals(given, _expectedAuthorization))
        {
            return true;
        }

        // Never echo what was sent: it may be a real key sent to the wrong place.
        await ResponseWriter.WriteErrorAsync(
            context, StatusCodes.Status401Unauthorized,
            "Incorrect API key provided. Send it as 'Authorization: Bearer <key>'.", "invalid_request_error", "invalid_api_key");
        return false;
    }

    private static Task InvalidAsync(HttpContext context, string message, string? param) =>
        ResponseWriter.WriteErrorAsync(context, StatusCodes.Status400BadRequest, message, "invalid_request_error", null, param);

    /// <summary>False when the field is present but neither a boolean nor null; absent or null reads as false.</summary>
    private static bool TryReadBoolean(JsonElement parent, string name, out bool value)
    {
        value = false;
        if (!parent.TryGetProperty(name, out var element))
        {
            return true;
        }

        switch (element.ValueKind)
        {
            case JsonValueKind.True:
                value = true;
                return true;
            case JsonValueKind.False or JsonValueKind.Null:
                return true;
            default:
                return false;
        }
    }

    private static int? ReadMaxTokens(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value.GetInt32() : null;
}
