using Xunit;

namespace ActorThrottle.Demo.Tests;

public sealed class ArgumentParserTests
{
    private static DemoOptions Ok(params string[] args)
    {
        var result = ArgumentParser.Parse(args);
        Assert.True(result.Ok, result.Error);
        return result.Options!;
    }

    private static string Error(params string[] args)
    {
        var result = ArgumentParser.Parse(args);
        Assert.False(result.Ok);
        Assert.Null(result.Options);
        return result.Error!;
    }

    [Fact]
    public void No_arguments_leave_everything_to_the_configuration()
    {
        var options = Ok();
        Assert.Equal(new DemoOptions(), options);
        Assert.Null(options.Requests);
        Assert.Null(options.Models);
        Assert.Null(options.Endpoint);
        Assert.False(options.Verbose);
    }

    [Fact]
    public void Every_option_is_read()
    {
        var options = Ok("--config", "my.conf", "--requests", "250", "--models", "a, b,c", "--prompt", "Hi there",
            "--max-tokens", "64", "--json", "out.json", "--plot", "run.png", "--csv", "run.csv", "--endpoint", "https://api.openai.com/v1", "--log", "run.log", "--verbose", "--plain",
            "--stream", "--priority");
        Assert.Equal("my.conf", options.ConfigFile);
        Assert.Equal(250, options.Requests);
        Assert.Equal(["a", "b", "c"], options.Models);
        Assert.Equal("Hi there", options.Prompt);
        Assert.Equal(64, options.MaxTokens);
        Assert.Equal("out.json", options.JsonFile);
        Assert.Equal("run.png", options.PlotFile);
        Assert.Equal("run.csv", options.CsvFile);
        Assert.Equal(new Uri("https://api.openai.com/v1"), options.Endpoint);
        Assert.Equal("run.log", options.LogFile);
        Assert.True(options.Verbose);
        Assert.True(options.Plain);
        Assert.True(options.Stream);
        Assert.True(options.Priority);
        Assert.False(options.Help);
    }

    [Theory]
    [InlineData("--stream=yes")]
    [InlineData("--priority=1")]
    public void Stream_and_priority_take_no_value(string arg) =>
        Assert.Equal($"Option {arg[..arg.IndexOf('=')]} takes no value.", ArgumentParser.Parse([arg]).Error);

    [Fact]
    public void Without_the_flags_nothing_streams_and_every_request_is_interactive()
    {
        var options = Ok();
        Assert.False(options.Stream);
        Assert.False(options.Priority);
        Assert.All(Enumerable.Range(0, 8), i => Assert.Equal(ActorThrottle.Messages.Priority.Interactive, DemoRunner.LaneOf(i, mixLanes: false)));
    }

    [Fact]
    public void With_priority_one_request_in_four_is_interactive()
    {
        var lanes = Enumerable.Range(0, 8).Select(i => DemoRunner.LaneOf(i, mixLanes: true)).ToList();
        Assert.Equal(2, lanes.Count(l => l == ActorThrottle.Messages.Priority.Interactive));
        Assert.Equal(ActorThrottle.Messages.Priority.Interactive, lanes[0]);
        Assert.Equal(ActorThrottle.Messages.Priority.Batch, lanes[1]);
    }

    [Fact]
    public void Values_may_follow_an_equals_sign()
    {
        var options = Ok("--requests=7", "--models=x", "--endpoint=http://localhost:8000/v1", "--prompt=a=b");
        Assert.Equal(7, options.Requests);
        Assert.Equal(["x"], options.Models);
        Assert.Equal(8000, options.Endpoint!.Port);
        Assert.Equal("a=b", options.Prompt);
    }

    [Theory]
    [InlineData("-h")]
    [InlineData("--help")]
    public void Help_wins(string flag)
    {
        Assert.True(Ok("--requests", "5", flag).Help);
        Assert.Contains("--requests N", ArgumentParser.Usage);
        Assert.Contains("--endpoint URL", ArgumentParser.Usage);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("0")]
    [InlineData("-5")]
    [InlineData("1.5")]
    [InlineData("1000001")]
    [InlineData("99999999999")]
    [InlineData("")]
    public void Requests_must_be_a_positive_whole_number(string value)
    {
        var error = Error("--requests", value);
        Assert.Contains("--requests", error);
        Assert.Contains("whole number", error);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("x")]
    public void Max_tokens_must_be_a_positive_whole_number(string value) =>
        Assert.Contains("--max-tokens must be a whole number", Error("--max-tokens", value));

    [Theory]
    [InlineData("a,,b")]
    [InlineData(",")]
    [InlineData(" ")]
    public void Models_must_not_have_empty_entries(string value) =>
        Assert.Contains("--models", Error("--models", value));

    [Fact]
    public void Models_must_not_repeat() =>
        Assert.Contains("'a' more than once", Error("--models", "a,b,a"));

    [Theory]
    [InlineData("not a url")]
    [InlineData("ftp://example.com/v1")]
    [InlineData("/v1")]
    public void Endpoint_must_be_an_http_url(string value) =>
        Assert.Contains("--endpoint must be an absolute http:// or https:// URL", Error("--endpoint", value));

    [Fact]
    public void Endpoint_with_credentials_is_refused_without_echoing_them()
    {
        var error = Error("--endpoint", "https://user:sk-secret@example.com/v1");
        Assert.DoesNotContain("sk-secret", error);
        Assert.Contains("api-key", error);
    }

    [Theory]
    [InlineData("--config")]
    [InlineData("--requests")]
    [InlineData("--models")]
    [InlineData("--prompt")]
    [InlineData("--max-tokens")]
    [InlineData("--json")]
    [InlineData("--endpoint")]
    [InlineData("--log")]
    public void Options_that_take_a_value_say_so_when_it_is_missing(string option)
    {
        Assert.Equal($"Option {option} needs a value.", Error(option));
        Assert.Equal($"Option {option} needs a value.", Error(option, "--verbose"));
    }

    [Theory]
    [InlineData("--config")]
    [InlineData("--json")]
    [InlineData("--prompt")]
    public void Text_values_must_not_be_blank(string option) =>
        Assert.Contains("non-blank", Error(option, "  "));

    [Fact]
    public void Unknown_options_are_named() =>
        Assert.Contains("Unknown option '--reqests'", Error("--reqests", "5"));

    [Fact]
    public void Positional_arguments_are_refused() =>
        Assert.Contains("Unexpected argument 'foo'", Error("foo"));

    [Fact]
    public void An_option_given_twice_is_refused() =>
        Assert.Contains("more than once", Error("--requests", "1", "--requests", "2"));

    [Fact]
    public void Flags_take_no_value() =>
        Assert.Contains("takes no value", Error("--verbose=yes"));

    [Fact]
    public void A_negative_number_is_read_as_a_value_not_an_option() =>
        Assert.Contains("(was '-1')", Error("--max-tokens", "-1"));

    [Fact]
    public void Deployments_takes_a_count_from_2_to_4()
    {
        Assert.Equal(2, Ok("--deployments", "2").Deployments);
        Assert.Equal(4, Ok("--deployments=4").Deployments);
        Assert.Null(Ok().Deployments);
        Assert.Contains("--deployments N", ArgumentParser.Usage);
    }

    [Theory]
    [InlineData("1")]
    [InlineData("5")]
    [InlineData("two")]
    public void Deployments_out_of_range_is_refused_naming_the_range(string value) =>
        Assert.Equal($"Option --deployments must be a whole number from 2 to 4 (was '{value}').", ArgumentParser.Parse(["--deployments", value]).Error);
}
