using System.ClientModel;
using System.ClientModel.Primitives;
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
        _client = new ChatClient(_providerModel, new ApiKeyCredential(settings.Route.ApiKey?.Reveal() ?? MissingKeyPlaceholder), options);
    }

    public async Task<BackendResponse> SendAsync(ChatRequest request, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        try
        {
            using var content = BinaryContent.Create(BinaryData.FromBytes(ChatRequestBody.Write(request.Model == _providerModel ? request : request with { Model = _providerModel })));
            var result = await _client.CompleteChatAsync(content, new RequestOptions
            {
                ErrorOptions = ClientErrorBehaviors.NoThrow,
                CancellationToken = timeout.Token,
            }).ConfigureAwait(false);
            var response = result.GetRawResponse();
            var headers = response.Headers;
            var rateLimits = RateLimitHeaders.Parse(name => headers.TryGetValue(name, out var value) ? value : null, _time.GetUtcNow());
            return ChatResponseParser.Parse(response.Status, response.Content.ToString(), rateLimits, _secret);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return TransportFailure("timeout", $"No answer within the request timeout of {_timeout.TotalMilliseconds:0} ms.");
        }
        catch (ClientResultException e) when (e.Status == 0)
        {
            return TransportFailure("connection_error", Describe(e.InnerException ?? e));
        }
        catch (Exception e) when (e is HttpRequestException or IOException or System.Net.Sockets.SocketException)
        {
            return TransportFailure("connection_error", Describe(e));
        }
    }

    private string Describe(Exception e) => ChatResponseParser.Redact(DescribeUnredacted(e), _secret)!;

    private static BackendResponse TransportFailure(string code, string message) =>
        new(OutcomeClassifier.ClassifyTransportFailure()) { ErrorCode = code, ErrorMessage = message };

    // Transport exception messages name the host and the socket error, never a header.
    private static string DescribeUnredacted(Exception e) => $"{e.GetType().Name}: {e.Message}";
}
