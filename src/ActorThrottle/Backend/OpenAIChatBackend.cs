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

    public OpenAIChatBackend(ModelSettings settings, HttpClient httpClient, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(httpClient);
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
            return ChatResponseParser.Parse(response.Status, response.Content.ToString(), RateLimits(response), _secret);
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
                var whole = ChatResponseParser.Parse(response.Status, body.ToString(), rateLimits, _secret);
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

    /// <summary>Carries an exception of the caller's callback past the transport-failure handling.</summary>
    private sealed class CallbackFailedException(Exception inner) : Exception(inner.Message, inner);

    private BinaryContent Body(ChatRequest request, bool stream) =>
        BinaryContent.Create(BinaryData.FromBytes(ChatRequestBody.Write(request.Model == _providerModel ? request : request with { Model = _providerModel }, stream, _streamUsage)));

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
