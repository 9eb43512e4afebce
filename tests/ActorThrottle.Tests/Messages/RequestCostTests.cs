using ActorThrottle.Configuration;
using ActorThrottle.Messages;
using ActorThrottle.Tokens;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace ActorThrottle.Tests.Messages;

public sealed class RequestCostTests
{
    private static readonly ModelSettings Defaults =
        // default-max-tokens 1024, max-context-tokens 128000, no tpm (0: none, not auto, which counts every prompt).
        ActorThrottleSettings.Parse("actor-throttle.defaults.tokens-per-minute = 0", _ => null).Defaults;

    private static ChatRequest Request(params string[] contents) =>
        new("m", contents.Select(ChatMessage.User).ToList());

    [Fact]
    public void The_prompt_is_counted_with_the_o200k_tokenizer()
    {
        Assert.Equal(2, TokenCounter.CountPrompt([ChatMessage.User("hello world")]));
        Assert.Equal(4, TokenCounter.CountPrompt([ChatMessage.System("hello world"), ChatMessage.User("hello world")]));
        Assert.Equal(0, TokenCounter.CountPrompt([ChatMessage.User(""), new ChatMessage("user", null)]));
    }

    [Fact]
    public void Tool_calls_and_tool_definitions_count_towards_the_prompt()
    {
        var request = new ChatRequest("m",
        [
            ChatMessage.User("hello world"),
            ChatMessage.Assistant([new ToolCall("call_1", "get_weather", """{"city":"Paris"}""")]),
            ChatMessage.Tool("call_1", "hello world"),
        ])
        {
            Tools = [new ToolDefinition("get_weather", "hello world", """{"type":"object"}""")],
        };
        static int T(string text) => TokenCounter.CountPrompt([ChatMessage.User(text)]);

        // Content, the call's name and arguments (not its id), and the tool's name, description and schema.
        var messages = 2 + T("get_weather") + T("""{"city":"Paris"}""") + 2;
        Assert.Equal(messages, TokenCounter.CountPrompt(request.Messages));
        Assert.Equal(messages + T("get_weather") + 2 + T("""{"type":"object"}"""), TokenCounter.CountPrompt(request));
        Assert.True(TokenCounter.UpperBound(request) >= TokenCounter.CountPrompt(request));
        var settings = Defaults with { TokensPerMinute = 1_000_000 };
        Assert.Equal(TokenCounter.CountPrompt(request), RequestCost.Of(request, settings).PromptTokens);
        Assert.True(RequestCost.Of(request, Defaults).PromptTokens >= TokenCounter.CountPrompt(request));
    }

    [Fact]
    public void With_a_token_limit_the_cost_is_the_exact_prompt_plus_max_tokens()
    {
        var settings = Defaults with { TokensPerMinute = 10_000 };
        var cost = RequestCost.Of(Request("hello world") with { MaxTokens = 100 }, settings);

        Assert.Equal(new RequestCost(2, 100), cost);
        Assert.Equal(102, cost.Total);
        Assert.Null(cost.TooLargeReason(settings));
    }

    [Fact]
    public void Without_max_tokens_the_models_default_max_tokens_is_charged()
    {
        var settings = Defaults with { TokensPerMinute = 10_000, DefaultMaxTokens = 77 };
        Assert.Equal(new RequestCost(2, 77), RequestCost.Of(Request("hello world"), settings));
    }

    [Fact]
    public void Without_a_token_limit_a_small_prompt_is_charged_at_its_byte_bound_which_is_never_below_the_token_count()
    {
        var cost = RequestCost.Of(Request("hello world"), Defaults);
        Assert.Equal(11, cost.PromptTokens); // bytes: tokenizing skipped
        Assert.Equal(1024, cost.MaxCompletionTokens);
        Assert.Null(cost.TooLargeReason(Defaults));
    }

    [Fact]
    public void Without_a_token_limit_a_prompt_whose_bytes_exceed_the_context_is_tokenized_before_being_judged()
    {
        // 60 bytes but far fewer tokens: the byte shortcut must not reject it.
        var settings = Defaults with { MaxContextTokens = 20 };
        var request = Request(string.Concat(Enumerable.Repeat("hello ", 10)));
        var cost = RequestCost.Of(request, settings);

        Assert.Equal(TokenCounter.CountPrompt(request.Messages), cost.PromptTokens);
        Assert.True(cost.PromptTokens <= 20);
        Assert.Null(cost.TooLargeReason(settings));
    }

    [Fact]
    public void A_prompt_over_max_context_tokens_is_too_large()
    {
        var settings = Defaults with { MaxContextTokens = 5 };
        var request = Request(string.Concat(Enumerable.Repeat("hello world ", 10)));
        var cost = RequestCost.Of(request, settings);

        Assert.True(cost.PromptTokens > 5);
        Assert.Contains("max-context-tokens", cost.TooLargeReason(settings));
    }

    [Fact]
    public void A_request_costing_more_than_tokens_per_minute_is_too_large_and_one_costing_exactly_that_is_not()
    {
        var settings = Defaults with { TokensPerMinute = 102 };
        Assert.Null(RequestCost.Of(Request("hello world") with { MaxTokens = 100 }, settings).TooLargeReason(settings));

        var over = RequestCost.Of(Request("hello world") with { MaxTokens = 101 }, settings);
        Assert.Equal(103, over.Total);
        Assert.Contains("tokens-per-minute", over.TooLargeReason(settings));
    }

    [Fact]
    public void Without_a_token_limit_a_large_max_tokens_is_not_too_large()
    {
        var cost = RequestCost.Of(Request("hello world") with { MaxTokens = int.MaxValue }, Defaults);
        Assert.Equal((long)int.MaxValue + 11, cost.Total); // no overflow
        Assert.Null(cost.TooLargeReason(Defaults));
    }

    // Text from several scripts: ASCII, Latin-1, Greek, CJK, emoji (surrogate pairs), combining marks, lone
    // surrogates and control characters, so byte counts of 1 to 4 per code point are all exercised.
    private static readonly string[] Pieces =
    [
        "a", "Z", "7", " ", "\n", "\t", "hello", " world", "é", "ß", "Ω", "λόγος", "中文", "日本語のテキスト", "한국어",
        "😀", "👩‍👩‍👧", "🇫🇷", "e\u0301", "\u0000", "\uD800", "\uDC00", "!!", "...", "<|endoftext|>", "   ", "ـ", "עברית", "1234567890",
    ];

    private static Arbitrary<string[]> Prompts()
    {
        var piece = Gen.Elements(Pieces);
        var anyChar = Gen.Choose(0, 0xFFFF).Select(c => ((char)c).ToString());
        var text = Gen.Frequency((3, piece), (1, anyChar)).ListOf().Select(string.Concat);
        return text.ArrayOf().Select(a => a.Length == 0 ? [""] : a).ToArbitrary();
    }

    [Property(MaxTest = 300, Replay = "(20261125,4242424243)")]
    public Property The_byte_upper_bound_is_never_below_the_tokenizers_count()
    {
        return Prop.ForAll(Prompts(), contents =>
        {
            var messages = contents.Select(ChatMessage.User).ToList();
            return TokenCounter.UpperBound(messages) >= TokenCounter.CountPrompt(messages);
        });
    }

    [Property(MaxTest = 200, Replay = "(77,1234567891)")]
    public Property The_admission_cost_never_undercounts_the_prompt_whatever_the_limits(int contextSeed, bool tokenLimit)
    {
        return Prop.ForAll(Prompts(), contents =>
        {
            var messages = contents.Select(ChatMessage.User).ToList();
            var settings = Defaults with
            {
                MaxContextTokens = 1 + Math.Abs(contextSeed % 200),
                TokensPerMinute = tokenLimit ? 1_000_000 : 0,
            };
            var cost = RequestCost.Of(new ChatRequest("m", messages), settings);
            var exact = TokenCounter.CountPrompt(messages);
            // Never below the exact count; and the TooLarge verdict is the exact one.
            return cost.PromptTokens >= exact
                && (cost.PromptTokens > settings.MaxContextTokens) == (exact > settings.MaxContextTokens);
        });
    }
}
