using ActorThrottle.Messages;
using ActorThrottle.Tests.Backend;
using ActorThrottle.Tests.Support;
using Xunit;
using Xunit.Abstractions;
using SimModel = ActorThrottle.Simulator.ModelSettings;

namespace ActorThrottle.Tests.Reliability;

/// <summary>
/// Issue 5, item 2: the simulator is stopped mid-run and restarted on the same port. Nothing is lost; requests whose
/// attempts (model "few") or deadline (model "deadline") run out get the typed failure; requests with attempts and time
/// to spare (model "patient") all succeed after the provider returns.
/// </summary>
[Collection(LoopbackCollection.Name)]
public sealed class ProviderOutageSpec(ITestOutputHelper output)
{
    private const string EngineHocon = """
        actor-throttle {
          request-timeout = 200ms
          defaults {
            requests-per-second = 1000
            max-burst = 50
            max-in-flight = 8
            queue-size = 10000
            retry { budget = 1.0, budget-min-per-second = 1000 }
          }
          models {
            few { retry { max-attempts = 3, base-delay = 20ms, max-delay = 100ms } }
            patient { retry { max-attempts = 60, base-delay = 50ms, max-delay = 200ms } }
            deadline { retry { max-attempts = 60, base-delay = 50ms, max-delay = 200ms } }
          }
        }
        """;

    [Fact]
    public async Task Stopping_and_restarting_the_provider_loses_nothing_and_fails_only_what_ran_out_of_attempts_or_deadline()
    {
        var models = new[] { "few", "patient", "deadline" }.ToDictionary(m => m, m => new SimModel { RequestsPerSecond = 3000, Seed = 7 });
        var sink = new CapturingSink();
        var logger = new Serilog.LoggerConfiguration().MinimumLevel.Information().WriteTo.Sink(sink).CreateLogger();
        await using var h = await SimulatorHarness.StartAsync(models, EngineHocon, logger);
        await SimulatorHarness.WarmUpAsync(h);
        var port = h.Simulator.Port;

        const int rounds = 30, perModel = 15;
        DateTimeOffset? stoppedAt = null, restartedAt = null;
        var outage = Task.Run(async () =>
        {
            await Task.Delay(1000);
            await h.Simulator.StopAsync();
            stoppedAt = DateTimeOffset.UtcNow;
            await Task.Delay(1200);
            await h.Simulator.StartAsync();
            restartedAt = DateTimeOffset.UtcNow;
        });
        var sentAt = new Dictionary<string, DateTimeOffset>();
        for (var round = 0; round < rounds; round++)
        {
            foreach (var model in models.Keys)
            {
                for (var i = 0; i < perModel; i++)
                {
                    var id = $"{model}-{round}-{i}";
                    var due = model == "deadline" ? DateTimeOffset.UtcNow.AddMilliseconds(600) : (DateTimeOffset?)null;
                    sentAt[id] = DateTimeOffset.UtcNow;
                    h.Send(new ChatRequest(model, [ChatMessage.User(id)]) { RequestId = id, MaxTokens = 16, Deadline = due });
                }
            }
            await Task.Delay(100);
        }
        await outage.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(port, h.Simulator.Port);
        var count = rounds * perModel * models.Count;
        await h.WaitForRepliesAsync(count, TimeSpan.FromSeconds(60));

        Assert.Equal(count, h.Replies.Count);
        Assert.All(h.Replies, kv => Assert.Single(kv.Value));
        var replies = h.Replies.Values.Select(q => { q.TryPeek(out var r); return r!; }).ToList();
        string Model(ChatReply r) => r.RequestId[..r.RequestId.IndexOf('-')];
        foreach (var group in replies.GroupBy(Model))
        {
            output.WriteLine($"{group.Key}: {group.OfType<ChatSuccess>().Count()} successes; failures: " +
                string.Join(", ", group.OfType<ChatFailure>().GroupBy(f => f.Reason).Select(g => $"{g.Key} {g.Count()}")));
        }
        output.WriteLine($"outage {stoppedAt:HH:mm:ss.fff} – {restartedAt:HH:mm:ss.fff}");

        // Attempts and time to spare: every one succeeds, including those sent while the provider was down.
        Assert.All(replies.Where(r => Model(r) == "patient"), r => Assert.IsType<ChatSuccess>(r));
        Assert.Contains(replies.Where(r => Model(r) == "patient"), r => sentAt[r.RequestId] > stoppedAt && sentAt[r.RequestId] < restartedAt);

        // Three attempts: those caught by the outage fail Transient after exactly three connection failures.
        var few = replies.Where(r => Model(r) == "few").ToList();
        var fewFailures = few.OfType<ChatFailure>().ToList();
        Assert.NotEmpty(fewFailures);
        Assert.All(fewFailures, f =>
        {
            Assert.Equal(FailureReason.Transient, f.Reason);
            Assert.Equal(3, f.Attempts);
            Assert.Null(f.StatusCode);
        });
        Assert.Contains(few, r => r is ChatSuccess && sentAt[r.RequestId] > restartedAt);

        // A 600 ms deadline: those caught by the outage fail DeadlineExceeded; later ones succeed.
        var deadline = replies.Where(r => Model(r) == "deadline").ToList();
        Assert.NotEmpty(deadline.OfType<ChatFailure>());
        Assert.All(deadline.OfType<ChatFailure>(), f => Assert.Equal(FailureReason.DeadlineExceeded, f.Reason));
        Assert.Contains(deadline, r => r is ChatSuccess && sentAt[r.RequestId] > restartedAt);

        // Every success is one the provider accepted; any extra acceptance is a call whose answer came too late for its
        // caller: after the attempt's timeout, or after the request's deadline (answered DeadlineExceeded while its call
        // was in flight; the provider still counts it).
        var stats = h.Simulator.GetStats();
        var accepted = models.Keys.Sum(m => stats.For(m).Totals.Accepted);
        var successes = replies.Count(r => r is ChatSuccess);
        var timeouts = sink.Events.Count(e => e.Properties.TryGetValue("Error", out var error) && error.ToString().Contains("(timeout)"));
        var pastDeadline = deadline.OfType<ChatFailure>().Count();
        output.WriteLine($"successes {successes}, accepted {accepted}, timeouts {timeouts}, past their deadline {pastDeadline}");
        Assert.InRange(accepted - successes, 0, timeouts + pastDeadline);
    }
}
