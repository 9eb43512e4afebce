using Xunit;
using System.Text.RegularExpressions;
using ActorThrottle.Configuration;
using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace ActorThrottle.Tests.Configuration;

public sealed class ReferenceConfigurationTests
{
    private static List<string> ReferenceLeafPaths()
    {
        var leaves = new List<string>();
        void Walk(HoconValue value, string path)
        {
            if (!value.IsObject() || value.GetObject().Items.Count == 0)
            {
                leaves.Add(path);
                return;
            }
            foreach (var (key, child) in value.GetObject().Items)
            {
                Walk(child, path.Length == 0 ? key : $"{path}.{key}");
            }
        }
        Walk(ActorThrottleSettings.Reference.GetValue(ActorThrottleSettings.RootPath), ActorThrottleSettings.RootPath);
        return leaves;
    }

    [Fact]
    public void The_reference_alone_loads_with_the_values_its_comments_and_the_design_document()
    {
        var settings = ActorThrottleSettings.FromConfig(Config.Empty, TestConfig.NoEnvironment);

        Assert.Equal(new Uri("https://api.cometapi.com/v1"), settings.Endpoint);
        Assert.Null(settings.ApiKey); // api-key = "" and no environment: no key
        Assert.Equal(TimeSpan.FromSeconds(60), settings.RequestTimeout);
        Assert.Equal(UnknownModelPolicy.Create, settings.UnknownModels);
        Assert.Equal(TimeSpan.FromSeconds(5), settings.ShutdownGrace);
        Assert.Empty(settings.ConfiguredModels);
        Assert.Empty(settings.UnknownKeys);

        var d = settings.Defaults;
        Assert.Equal(5, d.RequestsPerSecond);
        Assert.Equal(0, d.TokensPerMinute); // 0 = no token limit
        Assert.Equal(0, d.TokensBurst); // 0 = one second of tokens-per-minute
        Assert.Equal(0, d.TokenBucketCapacity); // no token limit, no token bucket
        Assert.Equal(TokenAccounting.Reserve, d.TokenAccounting);
        Assert.Equal(1024, d.DefaultMaxTokens);
        Assert.Equal(128000, d.MaxContextTokens);
        Assert.Equal(10, d.MaxBurst);
        Assert.Equal(1, d.MinBurst);
        Assert.Equal(0.1, d.MinRate);
        Assert.Equal(64, d.MaxInFlight);
        Assert.Equal(10000, d.QueueSize);
        Assert.Equal(settings.Endpoint, d.Route.Endpoint); // empty model endpoint: the global one
        Assert.Null(d.Route.ApiKey);
        Assert.Equal(settings.RequestTimeout, d.RequestTimeout); // no model request-timeout: the global one

        Assert.Equal(new RetrySettings(6, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(120), 0.2, TimeSpan.FromSeconds(10), 1), d.Retry);
        Assert.Equal(new AdaptSettings(0.5, 1, 20, TimeSpan.FromMilliseconds(250), RetryAfterScope.Request, 0.97), d.Adapt);

        // Ranges the comments state.
        Assert.True(d.Retry.MaxAttempts >= 1, "max-attempts: >= 1");
        Assert.InRange(d.Adapt.DecreaseFactor, double.Epsilon, 1 - 1e-9);
        Assert.True(d.Retry.MaxDelay >= d.Retry.BaseDelay, "max-delay: >= base-delay");
        Assert.True(d.MinBurst <= d.MaxBurst && d.MinRate <= d.RequestsPerSecond);
    }

    [Fact]
    public void Parsing_empty_text_gives_the_reference_values()
    {
        var settings = TestConfig.Parse("");
        var expected = ActorThrottleSettings.FromConfig(Config.Empty, TestConfig.NoEnvironment).Defaults;
        // Lists compare by reference in records: compare them by content, the rest as records.
        Assert.Equal(expected.Fallbacks, settings.Defaults.Fallbacks);
        Assert.Equal(expected with { Fallbacks = [] }, settings.Defaults with { Fallbacks = [] });
    }

    [Fact]
    public void Every_key_of_the_reference_is_known_to_the_settings_and_every_known_key_is_in_the_reference()
    {
        var reference = ReferenceLeafPaths();
        var known = ActorThrottleSettings.KnownKeys;

        Assert.Empty(reference.Except(known));
        // The only key read but not in the reference: a model's own request-timeout (its absence means "use the
        // global one"); the reference documents it in a comment.
        Assert.Equal(["actor-throttle.defaults.request-timeout"], known.Except(reference));
    }

    public static TheoryData<string> ReferenceLeaves()
    {
        var data = new TheoryData<string>();
        foreach (var leaf in ReferenceLeafPaths().Where(p => p != "actor-throttle.models"))
        {
            data.Add(leaf);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ReferenceLeaves))]
    public void Every_key_of_the_reference_is_really_read_so_a_bad_value_there_names_it(string path)
    {
        // A list is no valid value for any single-valued key, a block none for a list; if the settings read the key,
        // the error names it.
        var isList = ActorThrottleSettings.Reference.GetValue(path) is { } v && (v.IsArray() || (!v.IsString() && !v.IsObject()));
        var e = TestConfig.ParseFails(isList ? $"{path} {{ a = 1 }}" : $"{path} = [1, 2]");
        Assert.Equal(path, e.Path);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Models_in_the_reference_is_an_empty_block()
    {
        var models = ActorThrottleSettings.Reference.GetValue("actor-throttle.models");
        Assert.True(models.IsObject());
        Assert.Empty(models.GetObject().Items);
    }

    [Fact]
    public void Every_key_line_of_the_reference_has_a_comment_line_right_above_it()
    {
        var lines = TestConfig.ReferenceText().Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        var keyLine = new Regex(@"^\s*(""[^""]+""|[A-Za-z0-9_-]+)\s*(=|\{)");
        var uncommented = new List<string>();
        var keys = 0;
        for (var i = 0; i < lines.Length; i++)
        {
            if (!keyLine.IsMatch(lines[i]) || lines[i].TrimStart().StartsWith("actor-throttle", StringComparison.Ordinal))
            {
                continue;
            }
            keys++;
            if (i == 0 || !lines[i - 1].TrimStart().StartsWith('#'))
            {
                uncommented.Add($"line {i + 1}: {lines[i].Trim()}");
            }
        }
        Assert.True(keys >= 30, $"found only {keys} key lines; is the pattern wrong?");
        Assert.Empty(uncommented);
    }

    [Theory]
    [InlineData("unknown-models", typeof(UnknownModelPolicy))]
    [InlineData("token-accounting", typeof(TokenAccounting))]
    [InlineData("pause-on-retry-after", typeof(RetryAfterScope))]
    public void The_choices_listed_in_a_comment_are_exactly_the_policy_names_the_settings_accept(string key, Type policy)
    {
        var lines = TestConfig.ReferenceText().Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        var at = Array.FindIndex(lines, l => Regex.IsMatch(l, $@"^\s*{Regex.Escape(key)}\s*="));
        Assert.True(at > 0, $"{key} not found");
        var listed = new List<string>();
        for (var i = at - 1; i >= 0 && lines[i].TrimStart().StartsWith('#'); i--)
        {
            var m = Regex.Match(lines[i], @"^\s*#\s+([a-z-]+)\s+-\s");
            if (m.Success)
            {
                listed.Add(m.Groups[1].Value);
            }
        }
        var accepted = Enum.GetNames(policy).Select(HoconReader.ToKebab).Order().ToList();
        Assert.Equal(accepted, listed.Order().ToList());

        // The default written in the reference is one of them.
        var value = Regex.Match(lines[at], @"=\s*([a-z-]+)").Groups[1].Value;
        Assert.Contains(value, accepted);
    }

    [Fact]
    public void The_model_example_in_the_reference_comment_parses_and_merges_over_defaults()
    {
        var lines = TestConfig.ReferenceText().Split('\n');
        var start = Array.FindIndex(lines, l => l.TrimStart().StartsWith("#   models {", StringComparison.Ordinal));
        Assert.True(start > 0);
        var example = string.Join('\n', lines.Skip(start).TakeWhile(l => l.TrimStart().StartsWith('#'))
            .Select(l => l.TrimStart().TrimStart('#')))
            // No real environment in tests: replace the substitution by a literal.
            .Replace("${?OPENAI_API_KEY}", "\"sk-example\"", StringComparison.Ordinal);

        var settings = TestConfig.Parse($"actor-throttle {{ {example} }}");

        Assert.Equal(["gpt-4.1", "gpt-4o-mini", "meta-llama/Llama-3.1-8B:free"], settings.ConfiguredModels.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(50, settings.ForModel("gpt-4o-mini")!.RequestsPerSecond);
        Assert.Equal(new Uri("https://api.openai.com/v1"), settings.ForModel("gpt-4.1")!.Route.Endpoint);
        Assert.Equal(0.05, settings.ForModel("meta-llama/Llama-3.1-8B:free")!.MinRate);
    }
}
