using ActorThrottle.Backend;
using ActorThrottle.Messages;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace ActorThrottle.Tests.Backend;

/// <summary>Wire-level edge cases of <see cref="OpenAIChatBackend"/>: partial bodies, dates and clocks, endpoints.</summary>
[Collection(LoopbackCollection.Name)]
public sealed class OpenAIChatBackendEdgeTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private static readonly DateTimeOffset FakeNow = new(2025, 3, 14, 12, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _clock = new(FakeNow);
    private readonly OpenAIChatBackendFactory _factory;
    private ScriptedHttpServer _server = null!;

    public OpenAIChatBackendEdgeTests() => _factory = new OpenAIChatBackendFactory(time: _clock);

    public async Task InitializeAsync() => _server = await ScriptedHttpServer.StartAsync();

    public async Task DisposeAsync()
    {
        _factory.Dispose();
        await _server.DisposeAsync();
    }

    private Task<BackendResponse> Send(TimeSpan? requestTimeout = null, Uri? endpoint = null) =>
        _factory.Create(BackendTestSettings.For(endpoint ?? _server.V1, requestTimeout))
            .SendAsync(new ChatRequest("gpt-test", [ChatMessage.User("hi")]), CancellationToken.None)
            .WaitAsync(Bound);

    [Fact]
    public async Task Retry_after_as_an_HTTP_date_is_read_against_the_injected_clock()
    {
        _server.Respond(ScriptedResponse.Error(429, "rate_limit_exceeded").WithHeader("Retry-After", FakeNow.AddSeconds(90).ToString("r")));

        var r = await Send();

        Assert.Equal(OutcomeKind.RateLimited, r.Kind);
        Assert.Equal(TimeSpan.FromSeconds(90), r.RateLimits.RetryAfter);
    }

    [Fact]
    public async Task Anthropic_resets_are_read_against_the_injected_clock()
    {
        _server.Respond(ScriptedResponse.Completion()
            .WithHeader("anthropic-ratelimit-requests-remaining", "0")
            .WithHeader("anthropic-ratelimit-requests-reset", "2025-03-14T12:00:30Z"));

        var r = await Send();

        Assert.Equal(0, r.RateLimits.RemainingRequests);
        Assert.Equal(TimeSpan.FromSeconds(30), r.RateLimits.ResetRequests);
        // An instant in whole seconds is a bound: the reset lies in (29 s, 30 s], and the pause ends mid-way.
        Assert.Equal(TimeSpan.FromSeconds(1), r.RateLimits.ResetRequestsGranularity);
        Assert.Equal(FakeNow.AddSeconds(29.5), RateLimitPause.Until(r.RateLimits, FakeNow, TimeSpan.FromMinutes(1)));
    }

    [Fact]
    public async Task IETF_RateLimit_headers_from_a_gateway_are_read()
    {
        _server.Respond(ScriptedResponse.Error(429, null).WithHeader("RateLimit-Remaining", "0").WithHeader("RateLimit-Reset", "7"));

        var r = await Send();

        Assert.Equal(OutcomeKind.RateLimited, r.Kind);
        Assert.Equal(0, r.RateLimits.RemainingRequests);
        Assert.Equal(TimeSpan.FromSeconds(7), r.RateLimits.ResetRequests);
    }

    [Fact]
    public async Task A_body_that_stalls_after_the_headers_is_a_transient_timeout()
    {
        _server.Handle(async (context, _) =>
        {
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"choices\":[", context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
            }
        });

        var r = await Send(TimeSpan.FromMilliseconds(200));

        Assert.Equal(OutcomeKind.Transient, r.Kind);
        Assert.Equal("timeout", r.ErrorCode);
    }

    [Fact]
    public async Task A_connection_reset_in_the_middle_of_the_body_is_a_transient_connection_error()
    {
        _server.Handle(async (context, _) =>
        {
            context.Response.StatusCode = 200;
            context.Response.ContentLength = 10_000;
            await context.Response.WriteAsync("{\"choices\":[", context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            context.Abort();
        });

        var r = await Send();

        Assert.Equal(OutcomeKind.Transient, r.Kind);
        Assert.Equal("connection_error", r.ErrorCode);
        Assert.Null(r.StatusCode);
    }

    [Fact]
    public async Task An_endpoint_with_a_trailing_slash_reaches_the_same_path()
    {
        _server.Respond(ScriptedResponse.Completion());

        var r = await Send(endpoint: new Uri($"http://127.0.0.1:{_server.Port}/v1/"));

        Assert.Equal(OutcomeKind.Success, r.Kind);
        Assert.Equal("/v1/chat/completions", _server.Requests.Single().Path);
    }

    [Fact]
    public async Task A_gzip_compressed_answer_is_decompressed()
    {
        var answer = ScriptedResponse.Completion(content: "compressed");
        _server.Handle(async (context, _) =>
        {
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/json";
            context.Response.Headers.ContentEncoding = "gzip";
            await using var gzip = new System.IO.Compression.GZipStream(context.Response.Body, System.IO.Compression.CompressionLevel.Fastest);
            await gzip.WriteAsync(System.Text.Encoding.UTF8.GetBytes(answer.Body), context.RequestAborted);
        });

        var r = await Send();

        Assert.Equal(OutcomeKind.Success, r.Kind);
        Assert.Equal("compressed", r.Content);
    }
}
