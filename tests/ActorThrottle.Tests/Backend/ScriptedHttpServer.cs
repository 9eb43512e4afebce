using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ActorThrottle.Tests.Backend;

/// <summary>A request as the server received it.</summary>
public sealed record RecordedRequest(
    string Method,
    string Path,
    IReadOnlyDictionary<string, string> Headers,
    string Body,
    string ConnectionId)
{
    /// <summary>A header by name (case-insensitive), or null.</summary>
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}

/// <summary>What the server does with one request.</summary>
public sealed record ScriptedResponse(int Status, string Body = "")
{
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();
    public string ContentType { get; init; } = "application/json";
    /// <summary>Waited before answering; ends early when the client goes away.</summary>
    public TimeSpan Delay { get; init; }
    /// <summary>Resets the connection instead of answering (<see cref="HttpContext.Abort"/>).</summary>
    public bool Abort { get; init; }

    public ScriptedResponse WithHeader(string name, string value) =>
        this with { Headers = new Dictionary<string, string>(Headers) { [name] = value } };

    /// <summary>An OpenAI chat completion.</summary>
    public static ScriptedResponse Completion(string content = "Hello!", string model = "gpt-test-2025", string finishReason = "stop",
        int promptTokens = 12, int completionTokens = 3) =>
        new(200, System.Text.Json.JsonSerializer.Serialize(new
        {
            id = "chatcmpl-1",
            @object = "chat.completion",
            created = 1741569952,
            model,
            choices = new[]
            {
                new
                {
                    index = 0,
                    message = new { role = "assistant", content, refusal = (string?)null },
                    logprobs = (object?)null,
                    finish_reason = finishReason,
                },
            },
            usage = new { prompt_tokens = promptTokens, completion_tokens = completionTokens, total_tokens = promptTokens + completionTokens },
        }));

    /// <summary>An OpenAI error body <c>{"error":{"message","type","param","code"}}</c>.</summary>
    public static ScriptedResponse Error(int status, string? code, string message = "error", string? type = null) =>
        new(status, System.Text.Json.JsonSerializer.Serialize(new
        {
            error = new { message, type = type ?? code ?? "error", param = (string?)null, code },
        }));

    public static ScriptedResponse AbortConnection() => new(0) { Abort = true };
}

/// <summary>
/// A Kestrel server on 127.0.0.1 with an OS-chosen port and a programmable answer, for tests of HTTP clients.
/// Records every request. Set <see cref="Respond(ScriptedResponse)"/> (the same answer every time),
/// <see cref="Respond(Func{RecordedRequest, ScriptedResponse})"/> (computed per request) or <see cref="Handle"/> (raw).
/// </summary>
public sealed class ScriptedHttpServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private volatile Func<HttpContext, RecordedRequest, Task> _handler;
    private TaskCompletionSource<RecordedRequest> _nextRequest = NewSignal();

    private ScriptedHttpServer(WebApplication app)
    {
        _app = app;
        _handler = (context, _) => Write(context, ScriptedResponse.Completion());
    }

    /// <summary>The bound port.</summary>
    public int Port { get; private set; }

    /// <summary><c>http://127.0.0.1:{port}/</c></summary>
    public Uri BaseUri => new($"http://127.0.0.1:{Port}/");

    /// <summary><c>http://127.0.0.1:{port}/v1</c>, an OpenAI-style base URL.</summary>
    public Uri V1 => new($"http://127.0.0.1:{Port}/v1");

    /// <summary>Every request received so far, in arrival order.</summary>
    public IReadOnlyList<RecordedRequest> Requests => _requests.ToArray();

    public int RequestCount => _requests.Count;

    public static async Task<ScriptedHttpServer> StartAsync(CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new ScriptedHttpServer(app);
        app.Run(server.HandleAsync);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        server.Port = new Uri(app.Urls.Single()).Port;
        return server;
    }

    /// <summary>Answers every request with <paramref name="response"/>.</summary>
    public void Respond(ScriptedResponse response) => Respond(_ => response);

    /// <summary>Answers each request with what <paramref name="script"/> returns for it.</summary>
    public void Respond(Func<RecordedRequest, ScriptedResponse> script) =>
        _handler = (context, request) => Write(context, script(request));

    /// <summary>Full control over the answer.</summary>
    public void Handle(Func<HttpContext, RecordedRequest, Task> handler) => _handler = handler;

    /// <summary>Completes when the next request (after this call) has arrived and been recorded, before it is answered.</summary>
    public Task<RecordedRequest> NextRequest() => Volatile.Read(ref _nextRequest).Task;

    /// <summary>A loopback port nobody listens on: bound by the OS, then released.</summary>
    public static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>Writes <paramref name="response"/> (after its delay), or resets the connection.</summary>
    public static async Task Write(HttpContext context, ScriptedResponse response)
    {
        if (response.Delay > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(response.Delay, context.RequestAborted).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return; // the client gave up
            }
        }
        if (response.Abort)
        {
            context.Abort();
            return;
        }
        context.Response.StatusCode = response.Status;
        foreach (var (name, value) in response.Headers)
        {
            context.Response.Headers[name] = value;
        }
        if (response.Body.Length > 0)
        {
            context.Response.ContentType = response.ContentType;
            await context.Response.WriteAsync(response.Body, context.RequestAborted).ConfigureAwait(false);
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(context.RequestAborted).ConfigureAwait(false);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in context.Request.Headers)
        {
            headers[name] = values.ToString();
        }
        var request = new RecordedRequest(
            context.Request.Method,
            context.Request.Path + context.Request.QueryString,
            headers,
            body,
            context.Connection.Id);
        _requests.Enqueue(request);
        Interlocked.Exchange(ref _nextRequest, NewSignal()).TrySetResult(request);
        await _handler(context, request).ConfigureAwait(false);
    }

    private static TaskCompletionSource<RecordedRequest> NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _app.StopAsync(cts.Token).ConfigureAwait(false);
        }
        finally
        {
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }
}
