using ActorThrottle.Messages;
using ActorThrottle.Models;
using Akka.Actor;
using Xunit;

namespace ActorThrottle.Tests.Cluster;

/// <summary>In cluster mode requests and replies cross Akka.Remote: they must survive Akka's default serializer unchanged.</summary>
public sealed class MessageSerializationSpec : IAsyncLifetime
{
    private ActorSystem _system = null!;

    public Task InitializeAsync()
    {
        _system = ActorSystem.Create("serialization", "akka.loglevel = WARNING");
        return Task.CompletedTask;
    }

    public Task DisposeAsync() => _system.Terminate();

    private T RoundTrip<T>(T message) where T : notnull
    {
        var serializer = _system.Serialization.FindSerializerFor(message);
        var bytes = serializer.ToBinary(message);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, message);
        var back = _system.Serialization.Deserialize(bytes, serializer.Identifier, manifest);
        return Assert.IsType<T>(back);
    }

    [Fact]
    public void A_full_chat_request_round_trips()
    {
        var request = new ChatRequest("gpt-4.1", [ChatMessage.System("be brief"), ChatMessage.User("héllo \"quoted\" ✓"), ChatMessage.Assistant("")])
        {
            RequestId = "req-1",
            MaxTokens = 42,
            Temperature = 0.7,
            ExtraBody = """{"response_format":{"type":"json_object"}}""",
            Priority = Priority.Batch,
            Deadline = new DateTimeOffset(2030, 1, 2, 3, 4, 5, 678, TimeSpan.Zero),
            TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            TraceState = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
        };
        var back = RoundTrip(request);
        Assert.Equal(request.TraceParent, back.TraceParent);
        Assert.Equal(request.TraceState, back.TraceState);
        Assert.Equal(request.RequestId, back.RequestId);
        Assert.Equal(request.Model, back.Model);
        Assert.Equal(request.Messages, back.Messages);
        Assert.Equal(request.MaxTokens, back.MaxTokens);
        Assert.Equal(request.Temperature, back.Temperature);
        Assert.Equal(request.ExtraBody, back.ExtraBody);
        Assert.Equal(request.Priority, back.Priority);
        Assert.Equal(request.Deadline, back.Deadline);
        Assert.Null(ChatRequestValidator.Validate(back));
    }

    [Fact]
    public void A_minimal_chat_request_round_trips_with_its_defaults()
    {
        var request = new ChatRequest("m", [ChatMessage.User("hi")]);
        var back = RoundTrip(request);
        Assert.Equal(request.RequestId, back.RequestId);
        Assert.Null(back.MaxTokens);
        Assert.Null(back.Deadline);
        Assert.Null(back.TraceParent);
        Assert.Null(back.TraceState);
        Assert.Equal(Priority.Interactive, back.Priority);
        Assert.Equal(request.Messages, back.Messages);
    }

    [Fact]
    public void A_fallback_request_round_trips_with_its_reply_to_and_chain()
    {
        // In cluster mode a fallback goes through the shard region, so it may cross to another node.
        var replyTo = _system.ActorOf(Props.Empty, "reply-to");
        IReadOnlyList<string> tried = ["a"];
        var request = new ChatRequest("b", [ChatMessage.User("hi")]) { RequestId = "r1" };
        var back = RoundTrip(new Routing.FallbackRequest(request, replyTo, [.. tried, "b0"], ["c"], 3, Stream: true));
        Assert.Equal(replyTo, back.ReplyTo);
        Assert.Equal(["a", "b0"], back.Tried);
        Assert.Equal(["c"], back.Remaining);
        Assert.Equal(3, back.PriorAttempts);
        Assert.True(back.Stream);
        Assert.Equal("r1", back.Request.RequestId);
    }

    [Fact]
    public void The_relay_protocol_round_trips()
    {
        var request = new ChatRequest("m", [ChatMessage.User("hi")])
        {
            RequestId = "r1", Deadline = DateTimeOffset.UnixEpoch.AddDays(30_000), TraceParent = "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-00",
        };
        var back = RoundTrip(new Routing.ClusterRequest(request, Resent: true));
        Assert.Equal(request.TraceParent, back.Request.TraceParent);
        Assert.True(back.Resent);
        Assert.Equal(request.RequestId, back.Request.RequestId);
        Assert.Equal(request.Messages, back.Request.Messages);
        Assert.Equal(request.Deadline, back.Request.Deadline);
        Assert.Equal(new Routing.RequestAccepted("r1"), RoundTrip(new Routing.RequestAccepted("r1")));
        Assert.Equal(new Routing.RequestReleased("r1"), RoundTrip(new Routing.RequestReleased("r1")));
    }

    [Fact]
    public void Replies_cancel_and_status_round_trip()
    {
        var success = new ChatSuccess("r", "gpt-4.1-2025", "hello", "stop", new TokenUsage(12, 3), 2, TimeSpan.FromMilliseconds(1234.5), """{"id":"x"}""");
        Assert.Equal(success, RoundTrip(success));
        var noUsage = success with { Usage = null, Content = null, FinishReason = null };
        Assert.Equal(noUsage, RoundTrip(noUsage));
        var failure = new ChatFailure("r", FailureReason.RateLimitedExhausted, "gave up", 6, 429, "rate_limit_exceeded");
        Assert.Equal(failure, RoundTrip(failure));
        var bare = new ChatFailure("r", FailureReason.ShuttingDown, "bye", 0);
        Assert.Equal(bare, RoundTrip(bare));
        // Through the abstract type, as an Ask<ChatReply> receives it.
        ChatReply reply = failure;
        Assert.Equal(reply, RoundTrip<ChatFailure>((ChatFailure)reply));
        Assert.Equal(new CancelRequest("m", "r"), RoundTrip(new CancelRequest("m", "r")));
        Assert.Equal(new GetModelStatus("m"), RoundTrip(new GetModelStatus("m")));
        var status = new ModelStatus("m", 3, 5, 12.5, new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.FromHours(2)), 99);
        Assert.Equal(status, RoundTrip(status));
    }

    [Fact]
    public void A_tool_calling_request_round_trips_with_its_calls_results_tools_and_choice()
    {
        var request = new ChatRequest("gpt-4.1",
        [
            ChatMessage.User("Weather in Paris?"),
            // A collection expression: rebuilt as an array so it survives the serializer.
            ChatMessage.Assistant([new ToolCall("call_1", "get_weather", """{"city":"Paris","note":"héllo \"q\" ✓"}"""), new ToolCall("call_2", "now", "{}")], "Checking."),
            ChatMessage.Tool("call_1", """{"temp":18}"""),
            ChatMessage.Tool("call_2", "12:00"),
        ])
        {
            RequestId = "req-tools",
            Tools = [new ToolDefinition("get_weather", "Weather", """{"type":"object","properties":{"city":{"type":"string"}}}"""), new ToolDefinition("now")],
            ToolChoice = ToolChoice.Function("get_weather"),
        };
        var back = RoundTrip(request);
        Assert.Equal(request.Messages, back.Messages);
        Assert.Equal(request.Messages[1].ToolCalls, back.Messages[1].ToolCalls);
        Assert.Equal("call_1", back.Messages[2].ToolCallId);
        Assert.Null(back.Messages[0].ToolCalls);
        Assert.Null(back.Messages[0].ToolCallId);
        Assert.Equal(request.Tools, back.Tools);
        Assert.Equal(request.ToolChoice, back.ToolChoice);
        Assert.Null(ChatRequestValidator.Validate(back));
        Assert.Equal(ActorThrottle.Backend.ChatRequestBody.Write(request), ActorThrottle.Backend.ChatRequestBody.Write(back));

        // Null content beside tool calls, and the shared ToolChoice instances, survive too.
        var bare = new ChatRequest("m", [ChatMessage.User("u"), ChatMessage.Assistant([new ToolCall("c", "f", "{}")])])
        {
            Tools = [new ToolDefinition("f")],
            ToolChoice = ToolChoice.Required,
        };
        var bareBack = RoundTrip(bare);
        Assert.Equal(bare.Messages, bareBack.Messages);
        Assert.Null(bareBack.Messages[1].Content);
        Assert.Equal(ToolChoice.Required, bareBack.ToolChoice);
        Assert.Equal(bare.Messages, RoundTrip(new Routing.ClusterRequest(bare, Resent: false, Stream: true)).Request.Messages);
    }

    [Fact]
    public void A_success_with_tool_calls_round_trips()
    {
        var body = Backend.ToolCallParsingTests.ToolCallBody;
        var success = new ChatSuccess("r", "gpt-4.1-2025", null, "tool_calls", new TokenUsage(82, 17), 1, TimeSpan.FromMilliseconds(12), body)
        {
            ToolCalls = ActorThrottle.Backend.ChatResponseParser.Parse(200, body, ActorThrottle.Backend.RateLimitInfo.None).ToolCalls,
        };
        Assert.Equal(2, success.ToolCalls!.Count);
        var back = RoundTrip(success);
        Assert.Equal(success, back);
        Assert.Equal(success.ToolCalls, back.ToolCalls);

        // Calls with no body beside them (a custom backend's).
        var given = success with { RawJson = "", ToolCalls = [new ToolCall("c", "f", """{"a":[1,2]}""")] };
        Assert.Equal(given, RoundTrip(given));
        Assert.Equal("""{"a":[1,2]}""", RoundTrip(given).ToolCalls![0].Arguments);
    }

    [Fact]
    public void Stream_messages_round_trip()
    {
        var request = new ChatRequest("m", [ChatMessage.User("hi")]) { RequestId = "s-1" };
        var cluster = RoundTrip(new Routing.ClusterRequest(request, Resent: false, Stream: true));
        Assert.True(cluster.Stream);
        Assert.Equal("s-1", cluster.Request.RequestId);
        Assert.Equal(new ChatChunk("s-1", 3, "héllo ✓ \n"), RoundTrip(new ChatChunk("s-1", 3, "héllo ✓ \n")));
        Assert.Equal("s-1", RoundTrip(new ChatStreamRequest(request)).Request.RequestId);
        Assert.Equal(FailureReason.StreamInterrupted, RoundTrip(new ChatFailure("s-1", FailureReason.StreamInterrupted, "broke", 1)).Reason);
    }

    [Fact]
    public void Limits_set_at_run_time_and_their_replies_round_trip()
    {
        var limits = new ActorThrottle.Limits.ModelLimits { RequestsPerSecond = 12.5, TokensPerMinute = 90_000, MaxBurst = 4, MinBurst = 2, MinRate = 0.5, MaxInFlight = 3, QueueSize = 50 };
        var set = RoundTrip(new ActorThrottle.Limits.SetModelLimits("gpt-4.1", limits));
        Assert.Equal("gpt-4.1", set.Model);
        Assert.Equal(limits, set.Limits);
        Assert.Equal(new ActorThrottle.Limits.ModelLimits { AutoRate = true }, RoundTrip(new ActorThrottle.Limits.SetModelLimits("m", new() { AutoRate = true })).Limits);
        Assert.Null(set.Deployment);
        Assert.Equal("azure-eu", RoundTrip(new ActorThrottle.Limits.SetModelLimits("m", limits, "azure-eu")).Deployment);

        var status = new ModelStatus("gpt-4.1", 3, 4, 12.5, null, 7) { Limits = limits, InFlightLimit = 3, RateFoundBy = "configured" };
        var applied = RoundTrip(new ActorThrottle.Limits.ModelLimitsSet("gpt-4.1", status));
        Assert.Equal(status with { Recent = applied.Status.Recent }, applied.Status);
        var rejected = RoundTrip(new ActorThrottle.Limits.ModelLimitsRejected("gpt-4.1", "max-burst", "Invalid limit max-burst"));
        Assert.Equal(new ActorThrottle.Limits.ModelLimitsRejected("gpt-4.1", "max-burst", "Invalid limit max-burst"), rejected);
    }
}
