using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net.ServerSentEvents;
using ActorThrottle.Configuration;
using ActorThrottle.Messages;
using OpenAI.Chat;

namespace ActorThrottle.Backend;

/// <summary>
/// One attempt through the official OpenAI SDK's <see cref="ChatClient"/> (protocol method, so the body and
/// headers are ours to read and no SDK type leaks out), with the SDK's own retries off.
/// </summary>
public sealed class OpenAIChatBackend : IChatBackend
{
    private const string MissingKeyPlaceholder = "no-api-key-configured";
    private readonly ChatClient _client;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;
    private readonly string _providerModel;
    private readonly bool _streamUsage;
    // Redacted from every error field (a gateway may echo the Authorization header into its error body).
    private readonly string? _secret;
    private readonly ModelRoute _route;

    /// <exception cref="InvalidOperationException">The route has no API key and is not marked <c>allow-unauthenticated</c>.</exception>
    public OpenAIChatBackend(ModelSettings settings, HttpClient httpClient, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(httpClient);
        _route = settings.Route;
        if (_route.ApiKey is null && !_route.AllowUnauthenticated)
        {
            // The engine refuses to start for configured models; this is the answer for a model created from defaults.
            throw new InvalidOperationException(
                $"No API key for {_route.Display}: keys go only to the host they were configured for. Set this model's api-key or api-key-env " +
                "(or actor-throttle.api-key / api-key-env when it uses actor-throttle.endpoint), COMETAPI_KEY for https://api.cometapi.com, " +
                "OPENAI_API_KEY for https://api.openai.com, or allow-unauthenticated = on for a local server without keys.");
        }
        _timeout = settings.RequestTimeout;
        _time = time ?? TimeProvider.System;
        _secret = settings.Route.ApiKey?.Reveal();
        var options = new OpenAI.OpenAIClientOptions
        {
            Endpoint = settings.Route.Endpoint,
            // The engine owns retries: the SDK's policy retries 429s without waiting.
            RetryPolicy = new ClientRetryPolicy(0),
            // Our own timeout (below) fires first; this only backs it up.
            NetworkTimeout = settings.RequestTimeout + TimeSpan.FromSeconds(5),
            Transport = new HttpClientPipelineTransport(httpClient),
        };
        if (_route.ApiKey is null)
        {
            // The SDK always writes a bearer token; an unauthenticated server gets none rather than a placeholder.
            options.AddPolicy(RemoveAuthorizationPolicy.Instance, PipelinePosition.BeforeTransport);
        }
        _providerModel = settings.ProviderModel ?? settings.ModelId;
        _streamUsage = settings.StreamUsage;
        _client = new ChatClient(_providerModel, new ApiKeyCredential(settings.Route.ApiKey?.Reveal() ?? MissingKeyPlaceholder), options);
    }

    public async Task<BackendResponse> SendAsync(ChatRequest request, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        try
        {
            using var content = Body(request, stream: false);
            var result = await _client.CompleteChatAsync(content, new RequestOptions
            {
                ErrorOptions = ClientErrorBehaviors.NoThrow,
                CancellationToken = timeout.Token,
            }).ConfigureAwait(false);
            var response = result.GetRawResponse();
            return Explain(ChatResponseParser.Parse(response.Status, response.Content.ToString(), RateLimits(response), _secret), response);
        }
        catch (Exception e) when (AsFailure(e, cancellationToken) is { } failure)
        {
            return failure;
        }
    }

    /// <summary>
    /// A streamed attempt (<c>"stream": true</c>, usage in the last chunk). <c>request-timeout</c> bounds the wait for the
    /// answer and then every gap between two completion chunks (keep-alive events do not reset it), not the whole stream:
    /// a long answer that keeps flowing is not cut off; bound it with the request's deadline. An answer whose finish
    /// reason arrived is a success even if the connection then breaks or stalls before <c>[DONE]</c>. Exceptions thrown by
    /// <paramref name="onContent"/> propagate unchanged.
    /// </summary>
    public async Task<BackendResponse> StreamAsync(ChatRequest request, Action<string> onContent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(onContent);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        ChatStreamAccumulator? accumulator = null;
        var status = 0;
        var rateLimits = RateLimitInfo.None;
        try
        {
            using var content = Body(request, stream: true);
            var result = await _client.CompleteChatAsync(content, new RequestOptions
            {
                ErrorOptions = ClientErrorBehaviors.NoThrow,
                CancellationToken = timeout.Token,
                BufferResponse = false,
            }).ConfigureAwait(false);
            using var response = result.GetRawResponse();
            status = response.Status;
            rateLimits = RateLimits(response);
            var isEventStream = response.Headers.TryGetValue("Content-Type", out var type)
                && type is not null && type.Contains("text/event-stream", StringComparison.OrdinalIgnoreCase);
            if (response.Status is < 200 or >= 300 || !isEventStream || response.ContentStream is null)
            {
                // Errors come as ordinary JSON before any event; a server that ignores "stream" answers one completion.
                var body = await response.BufferContentAsync(timeout.Token).ConfigureAwait(false);
                var whole = Explain(ChatResponseParser.Parse(response.Status, body.ToString(), rateLimits, _secret), response);
                if (whole is { Kind: OutcomeKind.Success, Content: { Length: > 0 } text })
                {
                    PassOn(onContent, text);
                }
                return whole;
            }
            accumulator = new ChatStreamAccumulator(_secret);
            await foreach (var item in SseParser.Create(response.ContentStream).EnumerateAsync(timeout.Token).ConfigureAwait(false))
            {
                var chunksBefore = accumulator.ChunksRead;
                var added = accumulator.Accept(item.Data);
                if (accumulator.ChunksRead > chunksBefore)
                {
                    timeout.CancelAfter(_timeout);
                }
                if (added.Length > 0)
                {
                    PassOn(onContent, added);
                }
                if (accumulator.IsFinished)
                {
                    break;
                }
            }
            return accumulator.Complete(status, rateLimits);
        }
        catch (CallbackFailedException e)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException!).Throw();
            throw;
        }
        catch (Exception e) when (AsFailure(e, cancellationToken) is { } failure)
        {
            // The answer was complete (finish reason seen); only the trailing usage chunk or [DONE] was lost.
            return accumulator is { HasFinishReason: true } finished ? finished.Complete(status, rateLimits) : failure;
        }
    }

    private static void PassOn(Action<string> onContent, string text)
    {
        try
        {
            onContent(text);
        }
        catch (Exception e)
        {
            throw new CallbackFailedException(e);
        }
    }

    /// <summary>Strips the bearer token the SDK always adds, for servers marked allow-unauthenticated that have no key.</summary>
    private sealed class RemoveAuthorizationPolicy : PipelinePolicy
    {
        public static readonly RemoveAuthorizationPolicy Instance = new();

        public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            message.Request.Headers.Remove("Authorization");
            ProcessNext(message, pipeline, currentIndex);
        }

        public override ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            message.Request.Headers.Remove("Authorization");
            return ProcessNextAsync(message, pipeline, currentIndex);
        }
    }

    /// <summary>Carries an exception of the caller's callback past the transport-failure handling.</summary>
    private sealed class CallbackFailedException(Exception inner) : Exception(inner.Message, inner);

    private BinaryContent Body(ChatRequest request, bool stream) =>
        BinaryContent.Create(BinaryData.FromBytes(ChatRequestBody.Write(request.Model == _providerModel ? request : request with { Model = _providerModel }, stream, _streamUsage)));

    /// <summary>
    /// Adds what the caller needs to fix a misconfigured endpoint: a 3xx (never followed: the key must not reach another
    /// host) names the host it pointed to; a 404 names the URL called and suggests the base URL. Never the key.
    /// </summary>
    private BackendResponse Explain(BackendResponse parsed, PipelineResponse response)
    {
        var called = _route.ChatCompletionsDisplay;
        if (response.Status is >= 300 and < 400)
        {
            var target = response.Headers.TryGetValue("Location", out var location) && !string.IsNullOrWhiteSpace(location)
                && Uri.TryCreate(_route.Endpoint, location.Trim(), out var uri)
                ? new ModelRoute(uri, null).Display
                : "(no Location header)";
            return new BackendResponse(OutcomeKind.Permanent)
            {
                StatusCode = response.Status,
                ErrorCode = "redirect",
                ErrorMessage = ChatResponseParser.Redact(
                    $"POST {called} was redirected to {target}; redirects are not followed, so the API key cannot reach another host. " +
                    "If that is the provider's real base URL, set the endpoint to it.", _secret),
                RateLimits = parsed.RateLimits,
            };
        }
        if (response.Status == 404 && !string.Equals(parsed.ErrorCode, "model_not_found", StringComparison.OrdinalIgnoreCase))
        {
            return parsed with
            {
                ErrorMessage = $"POST {called} answered 404" + (parsed.ErrorMessage is { Length: > 0 } m ? $" ({m})" : "") +
                    ". Is the endpoint the API's base URL? The client appends /chat/completions to it; OpenAI-compatible APIs usually " +
                    "serve it under /v1 (e.g. https://api.openai.com/v1, http://localhost:8000/v1).",
            };
        }
        if (response.Status == 404)
        {
            return parsed with { ErrorMessage = $"POST {called} answered 404" + (parsed.ErrorMessage is { Length: > 0 } m2 ? $" ({m2})" : "") };
        }
        return parsed;
    }

    private RateLimitInfo RateLimits(PipelineResponse response)
    {
        var headers = response.Headers;
        return RateLimitHeaders.Parse(name => headers.TryGetValue(name, out var value) ? value : null, _time.GetUtcNow());
    }

    /// <summary>Transport trouble as a transient failure; null for what must propagate (the caller's cancellation, bugs).</summary>
    private BackendResponse? AsFailure(Exception e, CancellationToken cancellationToken) => e switch
    {
        OperationCanceledException when !cancellationToken.IsCancellationRequested =>
            TransportFailure("timeout", $"No answer within the request timeout of {_timeout.TotalMilliseconds:0} ms."),
        ClientResultException { Status: 0 } c => TransportFailure("connection_error", Describe(c.InnerException ?? c)),
        HttpRequestException or IOException or System.Net.Sockets.SocketException => TransportFailure("connection_error", Describe(e)),
        _ => null,
    };

    private string Describe(Exception e) => ChatResponseParser.Redact(DescribeUnredacted(e), _secret)!;

    private static BackendResponse TransportFailure(string code, string message) =>
        new(OutcomeClassifier.ClassifyTransportFailure()) { ErrorCode = code, ErrorMessage = message };

    // Transport exception messages name the host and the socket error, never a header.
    private static string DescribeUnredacted(Exception e) => $"{e.GetType().Name}: {e.Message}";
}
