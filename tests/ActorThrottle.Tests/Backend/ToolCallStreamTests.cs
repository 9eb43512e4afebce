using System.Text.Json;
using ActorThrottle.Backend;
using ActorThrottle.Messages;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace ActorThrottle.Tests.Backend;

/// <summary><see cref="ChatStreamAccumulator"/> assembling streamed <c>delta.tool_calls</c> into complete calls.</summary>
public sealed class ToolCallStreamTests
{
    /// <summary>One chunk whose delta holds the given <c>tool_calls</c> pieces (JSON objects).</summary>
    internal static string ToolDelta(params string[] pieces) =>
        """{"id":"chatcmpl-t1","object":"chat.completion.chunk","created":1741570283,"model":"gpt-x-2025","choices":[{"index":0,"delta":{"tool_calls":["""
        + string.Join(",", pieces) + """]},"logprobs":null,"finish_reason":null}]}""";

    internal static string Start(int index, string id, string name) =>
        $$$"""{"index":{{{index}}},"id":"{{{id}}}","type":"function","function":{"name":"{{{name}}}","arguments":""}}""";

    internal static string Args(int index, string fragment) =>
        $$$"""{"index":{{{index}}},"function":{"arguments":{{{JsonSerializer.Serialize(fragment)}}}}}""";

    private const string RoleChunk =
        """{"id":"chatcmpl-t1","object":"chat.completion.chunk","created":1741570283,"model":"gpt-x-2025","choices":[{"index":0,"delta":{"role":"assistant","content":null},"logprobs":null,"finish_reason":null}]}""";

    [Fact]
    public void An_OpenAI_tool_call_stream_assembles_into_complete_calls_with_finish_reason_tool_calls()
    {
        var stream = new ChatStreamAccumulator();
        Assert.Equal("", stream.Accept(RoleChunk));
        Assert.Equal("", stream.Accept(ToolDelta(Start(0, "call_a", "get_weather"))));
        Assert.Equal("", stream.Accept(ToolDelta(Args(0, "{\"ci"))));
        Assert.Equal("", stream.Accept(ToolDelta(Args(0, "ty\":\"Par"))));
        Assert.Equal("", stream.Accept(ToolDelta(Args(0, "is\"}"))));
        Assert.Equal("", stream.Accept(ToolDelta(Start(1, "call_b", "get_time"))));
        Assert.Equal("", stream.Accept(ToolDelta(Args(1, "{}"))));
        stream.Accept(ChatStreamAccumulatorTests.Chunk(finish: "tool_calls"));
        stream.Accept(ChatStreamAccumulatorTests.UsageChunk);
        stream.Accept("[DONE]");

        var r = stream.Complete(200, RateLimitInfo.None);
        Assert.Equal(OutcomeKind.Success, r.Kind);
        Assert.Equal("tool_calls", r.FinishReason);
        Assert.Equal("", r.Content);
        Assert.Equal([new ToolCall("call_a", "get_weather", """{"city":"Paris"}"""), new ToolCall("call_b", "get_time", "{}")], r.ToolCalls);
        Assert.Equal(new TokenUsage(9, 4), r.Usage);
    }

    [Fact]
    public void The_raw_json_of_a_tool_call_stream_is_the_completion_it_amounts_to()
    {
        var stream = new ChatStreamAccumulator();
        stream.Accept(ToolDelta(Start(0, "call_a", "f")));
        stream.Accept(ToolDelta(Args(0, "{\"x\":1}")));
        stream.Accept(ChatStreamAccumulatorTests.Chunk(finish: "tool_calls"));
        stream.Accept(ChatStreamAccumulatorTests.UsageChunk);
        var r = stream.Complete(200, RateLimitInfo.None);

        using var raw = JsonDocument.Parse(r.RawJson!);
        var root = raw.RootElement;
        Assert.Equal("chatcmpl-t1", root.GetProperty("id").GetString());
        Assert.Equal("chat.completion", root.GetProperty("object").GetString());
        Assert.Equal(1741570283, root.GetProperty("created").GetInt64());
        Assert.Equal("gpt-x-2025", root.GetProperty("model").GetString());
        Assert.Equal(13, root.GetProperty("usage").GetProperty("total_tokens").GetInt32());
        // The same body a non-streamed call would give: the parser reads the same calls from it.
        var reparsed = ChatResponseParser.Parse(200, r.RawJson!, RateLimitInfo.None);
        Assert.Equal(r.ToolCalls, reparsed.ToolCalls);
        Assert.Null(reparsed.Content);
        Assert.Equal("tool_calls", reparsed.FinishReason);
    }

    [Fact]
    public void Text_still_flows_and_the_raw_json_stays_empty_when_no_tool_was_called()
    {
        var stream = new ChatStreamAccumulator();
        Assert.Equal("Hi", stream.Accept(ChatStreamAccumulatorTests.Chunk(content: "Hi")));
        stream.Accept(ChatStreamAccumulatorTests.Chunk(finish: "stop"));
        var r = stream.Complete(200, RateLimitInfo.None);
        Assert.Null(r.ToolCalls);
        Assert.Equal("", r.RawJson);
    }

    [Fact]
    public void Text_before_the_tool_calls_flows_and_is_kept_beside_them()
    {
        var stream = new ChatStreamAccumulator();
        Assert.Equal("Checking", stream.Accept(ChatStreamAccumulatorTests.Chunk(content: "Checking")));
        Assert.Equal("", stream.Accept(ToolDelta(Start(0, "c", "f"), Args(0, "{}"))));
        stream.Accept(ChatStreamAccumulatorTests.Chunk(finish: "tool_calls"));
        var r = stream.Complete(200, RateLimitInfo.None);
        Assert.Equal("Checking", r.Content);
        Assert.Equal([new ToolCall("c", "f", "{}")], r.ToolCalls);
        Assert.Equal("Checking", ChatResponseParser.Parse(200, r.RawJson!, RateLimitInfo.None).Content);
    }

    [Fact]
    public void Parallel_calls_whose_pieces_interleave_are_kept_apart_and_ordered_by_index()
    {
        var stream = new ChatStreamAccumulator();
        stream.Accept(ToolDelta(Start(1, "call_b", "g")));
        stream.Accept(ToolDelta(Start(0, "call_a", "f")));
        stream.Accept(ToolDelta(Args(0, "[1,"), Args(1, "{\"k\"")));
        stream.Accept(ToolDelta(Args(1, ":true}")));
        stream.Accept(ToolDelta(Args(0, "2]")));
        stream.Accept(ChatStreamAccumulatorTests.Chunk(finish: "tool_calls"));
        var r = stream.Complete(200, RateLimitInfo.None);
        Assert.Equal([new ToolCall("call_a", "f", "[1,2]"), new ToolCall("call_b", "g", """{"k":true}""")], r.ToolCalls);
    }

    [Fact]
    public void Whole_calls_in_one_piece_and_calls_without_an_index_are_assembled_too()
    {
        // Some compatible servers send each call complete, or leave out the index.
        var stream = new ChatStreamAccumulator();
        stream.Accept(ToolDelta("""{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}"""));
        stream.Accept(ToolDelta("""{"id":"c2","type":"function","function":{"name":"g","arguments":"{\"b\""}}"""));
        stream.Accept(ToolDelta("""{"function":{"arguments":":2}"}}"""));
        stream.Accept(ToolDelta("""{"id":"c3","function":{"name":"h","arguments":{"c":3}}}"""));
        stream.Accept(ChatStreamAccumulatorTests.Chunk(finish: "tool_calls"));
        var r = stream.Complete(200, RateLimitInfo.None);
        Assert.Equal([new ToolCall("c1", "f", """{"a":1}"""), new ToolCall("c2", "g", """{"b":2}"""), new ToolCall("c3", "h", """{"c":3}""")], r.ToolCalls);
    }

    [Fact]
    public void The_id_and_name_come_from_the_first_piece_that_has_them_and_nameless_calls_are_dropped()
    {
        var stream = new ChatStreamAccumulator();
        stream.Accept(ToolDelta("""{"index":0,"function":{"arguments":"{"}}"""));
        stream.Accept(ToolDelta("""{"index":0,"id":"late","function":{"name":"f","arguments":"}"}}"""));
        stream.Accept(ToolDelta("""{"index":0,"id":"other","function":{"name":"g"}}"""));
        stream.Accept(ToolDelta("""{"index":1,"id":"nameless","function":{"arguments":"{}"}}"""));
        stream.Accept(ToolDelta("42", "null"));
        stream.Accept(ChatStreamAccumulatorTests.Chunk(finish: "tool_calls"));
        Assert.Equal([new ToolCall("late", "f", "{}")], stream.Complete(200, RateLimitInfo.None).ToolCalls);
    }

    [Fact]
    public void Tool_call_pieces_of_other_choices_are_ignored()
    {
        var stream = new ChatStreamAccumulator();
        stream.Accept(ToolDelta(Start(0, "c", "f"), Args(0, "{}")).Replace("\"choices\":[{\"index\":0", "\"choices\":[{\"index\":1"));
        stream.Accept(ChatStreamAccumulatorTests.Chunk(finish: "stop"));
        Assert.Null(stream.Complete(200, RateLimitInfo.None).ToolCalls);
    }

    [Fact]
    public void A_tool_call_stream_that_breaks_off_is_incomplete_not_a_success()
    {
        var stream = new ChatStreamAccumulator();
        stream.Accept(ToolDelta(Start(0, "c", "f")));
        stream.Accept(ToolDelta(Args(0, "{\"a\"")));
        var r = stream.Complete(200, RateLimitInfo.None);
        Assert.Equal(OutcomeKind.Transient, r.Kind);
        Assert.Equal("stream_incomplete", r.ErrorCode);
        Assert.Null(r.ToolCalls);
    }

    private static Arbitrary<string[][]> CallsCutInPieces()
    {
        // Each call's arguments: a JSON text cut into 1..n fragments (some empty, as servers send).
        var fragment = Gen.Elements("", "{", "}", "\"", ":", ",", "a", "\\\"", "é", "😀", "[1,2]", "\"city\":\"Paris\"", " ", "\\n", "null");
        return fragment.ListOf().Select(l => l.ToArray()).ArrayOf().Select(calls => calls.Take(5).ToArray()).ToArbitrary();
    }

    [Property(MaxTest = 200, Replay = "(424242,2027)")]
    public Property However_the_arguments_are_cut_and_the_calls_interleaved_each_call_reassembles_exactly(int interleaveSeed)
    {
        return Prop.ForAll(CallsCutInPieces(), calls =>
        {
            var stream = new ChatStreamAccumulator();
            for (var i = 0; i < calls.Length; i++)
            {
                stream.Accept(ToolDelta(Start(i, $"call_{i}", $"f{i}")));
            }
            // Interleave the calls' fragments in a seeded order that keeps each call's own order.
            var random = new Random(interleaveSeed);
            var next = new int[calls.Length];
            while (Enumerable.Range(0, calls.Length).Any(i => next[i] < calls[i].Length))
            {
                var open = Enumerable.Range(0, calls.Length).Where(i => next[i] < calls[i].Length).ToArray();
                var call = open[random.Next(open.Length)];
                stream.Accept(ToolDelta(Args(call, calls[call][next[call]++])));
            }
            stream.Accept(ChatStreamAccumulatorTests.Chunk(finish: "tool_calls"));
            var r = stream.Complete(200, RateLimitInfo.None);
            var expected = calls.Select((pieces, i) => new ToolCall($"call_{i}", $"f{i}", string.Concat(pieces))).ToArray();
            return calls.Length == 0
                ? (r.ToolCalls is null).Label("no calls")
                : (r.ToolCalls is not null && r.ToolCalls.SequenceEqual(expected)
                   && ChatResponseParser.Parse(200, r.RawJson!, RateLimitInfo.None).ToolCalls!.SequenceEqual(expected)).Label(string.Join(" | ", calls.Select(c => string.Join("·", c))));
        });
    }
}
