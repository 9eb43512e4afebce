using System.Text.Json;
using ActorThrottle.Messages;
using Xunit;

namespace ActorThrottle.Batch.Tests;

public sealed class InputParserTests
{
    [Fact]
    public void Maps_the_body_and_passes_other_fields_through()
    {
        var line = """{"custom_id":"a1","method":"POST","url":"/v1/chat/completions","body":{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi "},{"type":"text","text":"there"}]}],"max_tokens":7,"temperature":0.5,"response_format":{"type":"json_object"},"seed":3}}""";
        var item = Assert.IsType<BatchItem>(InputParser.Parse(line, 4));
        Assert.Equal("a1", item.CustomId);
        Assert.Equal(4, item.Line);
        Assert.Equal("a1", item.Request.RequestId);
        Assert.Equal("m", item.Request.Model);
        Assert.Equal("hi there", item.Request.Messages[0].Content);
        Assert.Equal(7, item.Request.MaxTokens);
        Assert.Equal(0.5, item.Request.Temperature);
        Assert.Equal(Priority.Batch, item.Request.Priority);
        using var extra = JsonDocument.Parse(item.Request.ExtraBody!);
        Assert.Equal("json_object", extra.RootElement.GetProperty("response_format").GetProperty("type").GetString());
        Assert.Equal(3, extra.RootElement.GetProperty("seed").GetInt32());
        Assert.False(extra.RootElement.TryGetProperty("model", out _));
    }

    [Theory]
    [InlineData("not json", "NotJson")]
    [InlineData("[1,2]", "NotJson")]
    [InlineData("""{"body":{"model":"m","messages":[{"role":"user","content":"x"}]}}""", "MissingCustomId")]
    [InlineData("""{"custom_id":"","body":{"model":"m","messages":[{"role":"user","content":"x"}]}}""", "MissingCustomId")]
    [InlineData("""{"custom_id":"x"}""", "MissingBody")]
    [InlineData("""{"custom_id":"x","body":{"messages":[{"role":"user","content":"x"}]}}""", "MissingModel")]
    [InlineData("""{"custom_id":"x","body":{"model":"m"}}""", "MissingMessages")]
    [InlineData("""{"custom_id":"x","body":{"model":"m","messages":[]}}""", "MissingMessages")]
    [InlineData("""{"custom_id":"x","url":"/v1/embeddings","body":{"model":"m","messages":[{"role":"user","content":"x"}]}}""", "UnsupportedRequest")]
    [InlineData("""{"custom_id":"x","body":{"model":"m","messages":[{"role":"wizard","content":"x"}]}}""", "InvalidRequest")]
    [InlineData("""{"custom_id":"x","body":{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"u"}}]}]}}""", "InvalidRequest")]
    [InlineData("""{"custom_id":"x","body":{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":0}}""", "InvalidRequest")]
    public void Reports_bad_lines_with_a_reason(string line, string reason)
    {
        var bad = Assert.IsType<InvalidLine>(InputParser.Parse(line, 9));
        Assert.Equal(reason, bad.Reason);
        Assert.Equal(9, bad.Line);
        Assert.Contains("Line 9", bad.Message);
    }
}

public sealed class OutputLedgerTests
{
    [Fact]
    public void Last_result_wins_and_a_success_is_never_undone()
    {
        using var dir = new TempDir();
        var path = dir.File("out.jsonl");
        File.WriteAllLines(path,
        [
            """{"custom_id":"a","line":1,"status":"failed","error":{"reason":"Transient"}}""",
            """{"custom_id":"a","line":1,"status":"succeeded","response":{"body":{"x":[1,{"status":"failed"}]}}}""",
            """{"custom_id":"b","line":2,"status":"failed","error":null}""",
            """{"custom_id":"a","line":1,"status":"failed"}""",
            """{"custom_id":null,"line":3,"status":"invalid","error":{"reason":"NotJson"}}""",
            """garbage""",
        ]);
        var ledger = OutputLedger.Load(path);
        Assert.Equal(["a"], ledger.Succeeded);
        Assert.Equal(["b"], ledger.Failed);
        Assert.Equal([3L], ledger.InvalidLines);
        Assert.Equal(1, ledger.UnreadableLines);
        Assert.Equal(0, ledger.TruncatedBytes);
    }

    [Fact]
    public void An_unfinished_last_line_is_cut_off()
    {
        using var dir = new TempDir();
        var path = dir.File("out.jsonl");
        File.WriteAllText(path, "{\"custom_id\":\"a\",\"line\":1,\"status\":\"succeeded\"}\n{\"custom_id\":\"b\",\"line\":2,\"sta");
        var ledger = OutputLedger.Load(path);
        Assert.Equal(["a"], ledger.Succeeded);
        Assert.Empty(ledger.Failed);
        Assert.True(ledger.TruncatedBytes > 0);
        Assert.EndsWith("}\n", File.ReadAllText(path));

        File.WriteAllText(path, "{\"custom_id\":\"b\",\"li");
        Assert.Empty(OutputLedger.Load(path).Succeeded);
        Assert.Equal(0, new FileInfo(path).Length);
    }

    [Fact]
    public async Task Two_runs_cannot_write_one_output()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("in.jsonl"), "");
        using var held = new FileStream(dir.File("out.jsonl.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        using var system = Akka.Actor.ActorSystem.Create("lock-test", "akka.loglevel = OFF\nakka.stdout-loglevel = OFF");
        var engine = ActorThrottleEngine.Start(system, ActorThrottle.Configuration.ActorThrottleSettings.Parse("actor-throttle { endpoint = \"http://127.0.0.1:9/v1\", api-key = \"x\" }"));
        var runner = new BatchRunner(engine, new BatchOptions { InputPath = dir.File("in.jsonl"), OutputPath = dir.File("out.jsonl"), Progress = ProgressMode.None });
        await Assert.ThrowsAsync<BatchInUseException>(() => runner.RunAsync());
    }

    [Fact]
    public void Counts_non_blank_lines()
    {
        using var dir = new TempDir();
        var path = dir.File("in.jsonl");
        File.WriteAllText(path, "a\n\n  \nb\r\nc");
        Assert.Equal(3, BatchRunner.CountLines(path));
    }
}

public sealed class CommandLineTests
{
    [Fact]
    public void Parses_the_documented_options()
    {
        var o = CommandLine.Parse(["--input", "i", "--output", "o", "--config", "c", "--retry-failed", "--simulate", "--sim-rate", "50", "--max-outstanding", "20", "--progress", "plain"], out var error);
        Assert.Null(error);
        Assert.NotNull(o);
        Assert.Equal(("i", "o", "c", true, true, 50.0, 20, ProgressMode.Plain),
            (o.InputPath, o.OutputPath, o.ConfigPath, o.RetryFailed, o.Simulate, o.SimulatorRate, o.MaxOutstanding, o.Progress));
        Assert.Null(o.PlotPath);
        Assert.Null(o.CsvPath);
        var withFiles = CommandLine.Parse(["--input", "i", "--output", "o", "--plot", "p.png", "--csv", "c.csv"], out _);
        Assert.Equal(("p.png", "c.csv"), (withFiles!.PlotPath, withFiles.CsvPath));
    }

    [Theory]
    [InlineData("--input", "i")]
    [InlineData("--input", "i", "--output", "o", "--bogus")]
    [InlineData("--input", "i", "--output", "o", "--sim-rate", "x")]
    [InlineData("--input", "i", "--output", "o", "--endpoint", "not a url")]
    public void Rejects_bad_arguments(params string[] args)
    {
        Assert.Null(CommandLine.Parse(args, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }
}
