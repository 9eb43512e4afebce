using System.Text;
using System.Text.Json;
using ActorThrottle.Backend;
using ActorThrottle.Messages;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace ActorThrottle.Tests.Backend;

/// <summary><see cref="OpenAIChatBackend.StreamAsync"/> against a real HTTP server on loopback.</summary>
[Collection(LoopbackCollection.Name)]
public sealed class OpenAIChatBackendStreamingTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private readonly OpenAIChatBackendFactory _factory = new(maxConnectionsPerServer: 8);
    private ScriptedHttpServer _server = null!;

    public async Task InitializeAsync() => _server = await ScriptedHttpServer.StartAsync();

    public async Task DisposeAsync()
    {
        _factory.Dispose();
        await _server.DisposeAsync();
    }

    private static ChatRequest Request() => new("gpt-test", [ChatMessage.User("Say hello.")]) { MaxTokens = 16 };

    private async Task<(BackendResponse Response, List<string> Pieces)> Stream(TimeSpan? requestTimeout = null)
    {
        var pieces = new List<string>();
        var backend = _factory.Create(BackendTestSettings.For(_server.V1, requestTimeout));
        var response = await backend.StreamAsync(Request(), pieces.Add, CancellationToken.None).WaitAsync(Bound);
        return (response, pieces);
    }

    /// <summary>Writes each event as its own flushed write, waiting <paramref name="gap"/> before each.</summary>
    private void ServeEvents(IEnumerable<string> events, TimeSpan gap = default) =>
        _server.Handle(async (context, _) =>
        {
            context.Response.StatusCode = 200;
            context.Response.ContentType = "text/event-stream";
            context.Response.Headers["x-ratelimit-remaining-requests"] = "41";
            await context.Response.Body.FlushAsync();
            foreach (var data in events)
            {
                if (gap > TimeSpan.Zero)
                {
                    await Task.Delay(gap, context.RequestAborted);
                }
                await context.Response.WriteAsync($"data: {data}\n\n", context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
        });

    private static readonly string[] FullStream =
    [
        ChatStreamAccumulatorTests.Chunk(content: "", role: "assistant"),
        ChatStreamAccumulatorTests.Chunk(content: "Hel"),
        ChatStreamAccumulatorTests.Chunk(content: "lo!"),
        ChatStreamAccumulatorTests.Chunk(finish: "stop"),
        ChatStreamAccumulatorTests.UsageChunk,
        "[DONE]",
    ];

    [Fact]
    public async Task Streams_each_piece_in_order_and_succeeds_with_text_usage_and_rate_limit_headers()
    {
        ServeEvents(FullStream);
        var (r, pieces) = await Stream();
        Assert.Equal(["Hel", "lo!"], pieces);
        Assert.Equal(OutcomeKind.Success, r.Kind);
        Assert.Equal("Hello!", r.Content);
        Assert.Equal("stop", r.FinishReason);
        Assert.Equal(new TokenUsage(9, 4), r.Usage);
        Assert.Equal(41, r.RateLimits.RemainingRequests);
    }

    [Fact]
    public async Task The_body_asks_for_a_stream_with_usage_and_ExtraBody_cannot_turn_either_off()
    {
        ServeEvents(FullStream);
        var pieces = new List<string>();
        var backend = _factory.Create(BackendTestSettings.For(_server.V1));
        var request = Request() with { ExtraBody = """{"stream":false,"stream_options":{"include_usage":false},"seed":3}""" };
        await backend.StreamAsync(request, pieces.Add, CancellationToken.None).WaitAsync(Bound);
        using var body = JsonDocument.Parse(Assert.Single(_server.Requests).Body);
        Assert.True(body.RootElement.GetProperty("stream").GetBoolean());
        Assert.True(body.RootElement.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
        Assert.Equal(3, body.RootElement.GetProperty("seed").GetInt32());
    }

    [Theory]
    [InlineData(429, "rate_limit_exceeded", OutcomeKind.RateLimited)]
    [InlineData(429, "insufficient_quota", OutcomeKind.QuotaExceeded)]
    [InlineData(503, null, OutcomeKind.Transient)]
    [InlineData(400, "invalid_request_error", OutcomeKind.Permanent)]
    public async Task An_error_status_before_the_stream_is_classified_as_usual_and_passes_no_text(int status, string? code, OutcomeKind expected)
    {
        _server.Respond(ScriptedResponse.Error(status, code).WithHeader("retry-after-ms", "250"));
        var (r, pieces) = await Stream();
        Assert.Empty(pieces);
        Assert.Equal(expected, r.Kind);
        Assert.Equal(status, r.StatusCode);
        Assert.Equal(TimeSpan.FromMilliseconds(250), r.RateLimits.RetryAfter);
    }

    [Fact]
    public async Task A_server_that_ignores_stream_and_answers_JSON_is_passed_on_in_one_piece()
    {
        _server.Respond(ScriptedResponse.Completion(content: "whole answer"));
        var (r, pieces) = await Stream();
        Assert.Equal(["whole answer"], pieces);
        Assert.Equal(OutcomeKind.Success, r.Kind);
        Assert.Equal("whole answer", r.Content);
    }

    [Fact]
    public async Task A_connection_reset_mid_stream_is_a_transient_failure_after_the_pieces_that_arrived()
    {
        // The server resets only once the client has the two pieces (a reset right after a write can drop what was written).
        var received = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _server.Handle(async (context, _) =>
        {
            context.Response.StatusCode = 200;
            context.Response.ContentType = "text/event-stream";
            foreach (var data in FullStream.Take(3))
            {
                await context.Response.WriteAsync($"data: {data}\n\n", context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
            await received.Task.WaitAsync(Bound);
            context.Abort();
        });
        var pieces = new List<string>();
        var backend = _factory.Create(BackendTestSettings.For(_server.V1));
        var r = await backend.StreamAsync(Request(), piece =>
        {
            pieces.Add(piece);
            if (pieces.Count == 2)
            {
                received.TrySetResult();
            }
        }, CancellationToken.None).WaitAsync(Bound);
        Assert.Equal(["Hel", "lo!"], pieces);
        Assert.Equal(OutcomeKind.Transient, r.Kind);
        Assert.Equal("connection_error", r.ErrorCode);
    }

    [Fact]
    public async Task A_stream_that_ends_cleanly_without_finish_or_DONE_is_incomplete()
    {
        ServeEvents(FullStream.Take(3));
        var (r, pieces) = await Stream();
        Assert.Equal(["Hel", "lo!"], pieces);
        Assert.Equal("stream_incomplete", r.ErrorCode);
        Assert.Equal(OutcomeKind.Transient, r.Kind);
    }

    [Fact]
    public async Task The_request_timeout_bounds_each_gap_not_the_whole_stream()
    {
        // Six gaps of 400 ms = 2.4 s in all, longer than the 2 s timeout, yet no gap comes near it (wide margins: this
        // runs on the real clock, next to other tests).
        ServeEvents(FullStream, gap: TimeSpan.FromMilliseconds(400));
        var (r, _) = await Stream(TimeSpan.FromSeconds(2));
        Assert.Equal(OutcomeKind.Success, r.Kind);
    }

    [Fact]
    public async Task A_stream_that_stalls_longer_than_the_request_timeout_times_out()
    {
        _server.Handle(async (context, _) =>
        {
            context.Response.StatusCode = 200;
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync($"data: {ChatStreamAccumulatorTests.Chunk(content: "a")}\n\n", context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { });
        });
        var (r, pieces) = await Stream(TimeSpan.FromSeconds(1));
        Assert.Equal(["a"], pieces);
        Assert.Equal(OutcomeKind.Transient, r.Kind);
        Assert.Equal("timeout", r.ErrorCode);
    }

    [Fact]
    public async Task The_callers_cancellation_propagates()
    {
        ServeEvents(FullStream, gap: TimeSpan.FromSeconds(5));
        var backend = _factory.Create(BackendTestSettings.For(_server.V1));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => backend.StreamAsync(Request(), _ => { }, cts.Token).WaitAsync(Bound));
    }

    [Fact]
    public async Task An_answer_whose_finish_reason_arrived_is_a_success_even_if_the_stream_then_stalls_before_DONE()
    {
        _server.Handle(async (context, _) =>
        {
            context.Response.StatusCode = 200;
            context.Response.ContentType = "text/event-stream";
            foreach (var data in FullStream.Take(4))
            {
                await context.Response.WriteAsync($"data: {data}\n\n", context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
            await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { });
        });
        var (r, pieces) = await Stream(TimeSpan.FromSeconds(1));
        Assert.Equal(["Hel", "lo!"], pieces);
        Assert.Equal(OutcomeKind.Success, r.Kind);
        Assert.Equal("Hello!", r.Content);
        Assert.Equal("stop", r.FinishReason);
        Assert.Null(r.Usage);
    }

    [Fact]
    public async Task Keep_alive_events_do_not_reset_the_request_timeout()
    {
        _server.Handle(async (context, _) =>
        {
            context.Response.StatusCode = 200;
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync($"data: {ChatStreamAccumulatorTests.Chunk(content: "a")}\n\n", context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            try
            {
                while (true)
                {
                    await Task.Delay(50, context.RequestAborted);
                    await context.Response.WriteAsync("event: ping\ndata: {}\n\n", context.RequestAborted);
                    await context.Response.Body.FlushAsync(context.RequestAborted);
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
        var (r, pieces) = await Stream(TimeSpan.FromSeconds(1));
        Assert.Equal(["a"], pieces);
        Assert.Equal("timeout", r.ErrorCode);
    }

    [Fact]
    public async Task An_exception_of_the_callers_callback_propagates_unchanged_and_is_not_read_as_a_connection_error()
    {
        ServeEvents(FullStream);
        var backend = _factory.Create(BackendTestSettings.For(_server.V1));
        var thrown = await Assert.ThrowsAsync<IOException>(() =>
            backend.StreamAsync(Request(), _ => throw new IOException("the caller's disk is full"), CancellationToken.None).WaitAsync(Bound));
        Assert.Equal("the caller's disk is full", thrown.Message);
    }

    [Fact]
    public async Task With_stream_usage_off_the_body_asks_for_a_stream_without_stream_options()
    {
        ServeEvents(FullStream);
        var settings = BackendTestSettings.For(_server.V1) with { StreamUsage = false };
        var backend = _factory.Create(settings);
        await backend.StreamAsync(Request(), _ => { }, CancellationToken.None).WaitAsync(Bound);
        using var body = JsonDocument.Parse(Assert.Single(_server.Requests).Body);
        Assert.True(body.RootElement.GetProperty("stream").GetBoolean());
        Assert.False(body.RootElement.TryGetProperty("stream_options", out _));
    }

    [Theory]
    [InlineData("", true)]
    [InlineData("actor-throttle.defaults.stream-usage = off", false)]
    [InlineData("actor-throttle.models.m.stream-usage = no", false)]
    public void Stream_usage_is_read_from_HOCON(string hocon, bool expected) =>
        Assert.Equal(expected, ActorThrottle.Tests.Configuration.TestConfig.Parse(hocon + "\nactor-throttle.models.m { }").ForModel("m")!.StreamUsage);
}
