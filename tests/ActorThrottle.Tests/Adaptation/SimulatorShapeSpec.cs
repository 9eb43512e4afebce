using ActorThrottle.Backend;
using ActorThrottle.Simulator;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace ActorThrottle.Tests.Adaptation;

/// <summary><see cref="SimulatorShape"/> answers as the HTTP simulator does, as the backend would parse it.</summary>
public sealed class SimulatorShapeSpec
{
    private static ZooShape Zoo(string key) => ProviderZoo.Shapes.Single(s => s.Key == key);

    [Fact]
    public void A_token_bucket_with_OpenAI_headers_answers_its_burst_then_a_429_with_retry_after_ms_and_the_simulators_message()
    {
        var clock = new FakeTimeProvider(VirtualPipeline.T0);
        var shape = new SimulatorShape(Zoo("tb-openai").Settings(quick: true) with { Latency = TimeSpan.FromMilliseconds(100) }, clock);

        var accepted = Enumerable.Range(0, 100).Select(_ => shape.Send(7, 16)).ToList();
        var rejected = shape.Send(7, 16);

        Assert.All(accepted, c => Assert.Equal(VirtualPipeline.T0.AddMilliseconds(100), c.AnswerAt));
        Assert.Equal(VirtualPipeline.T0, rejected.AnswerAt);
        var answer = shape.Answer(rejected);
        Assert.Equal(OutcomeKind.RateLimited, answer.Kind);
        Assert.Equal("rate_limit_exceeded", answer.ErrorCode);
        Assert.Contains("Rate limit reached for requests", answer.ErrorMessage);
        Assert.Equal(0, answer.RateLimits.RemainingRequests);
        Assert.Equal(100, answer.RateLimits.LimitRequests);
        Assert.Equal(TimeSpan.FromMilliseconds(10), answer.RateLimits.RetryAfter);

        clock.Advance(TimeSpan.FromMilliseconds(100));
        var success = shape.Answer(accepted[0]);
        Assert.Equal(OutcomeKind.Success, success.Kind);
        Assert.Equal(23, success.Usage!.TotalTokens);
        // The headers are the state at the answer: 10 requests refilled in 100 ms.
        Assert.Equal(10, success.RateLimits.RemainingRequests);
    }

    [Fact]
    public void The_schedule_outage_answers_529_overloaded_at_once_as_a_transient_failure()
    {
        var clock = new FakeTimeProvider(VirtualPipeline.T0);
        var shape = new SimulatorShape(Zoo("schedule-529").Settings(quick: true) with { Schedule = Zoo("schedule-529").Schedule(true) }, clock);
        Assert.Equal(OutcomeKind.Success, shape.Answer(shape.Send(7, 16)).Kind);

        clock.Advance(TimeSpan.FromSeconds(5.5));
        var call = shape.Send(7, 16);
        var answer = shape.Answer(call);

        Assert.Equal(clock.GetUtcNow(), call.AnswerAt);
        Assert.Equal(OutcomeKind.Transient, answer.Kind);
        Assert.Equal(529, answer.StatusCode);
    }

    [Fact]
    public void A_concurrency_cap_frees_its_slot_when_the_answer_is_written()
    {
        var clock = new FakeTimeProvider(VirtualPipeline.T0);
        var shape = new SimulatorShape(Zoo("concurrency-none").Settings(quick: true) with { Latency = TimeSpan.FromMilliseconds(100) }, clock);
        var held = Enumerable.Range(0, 20).Select(_ => shape.Send(7, 16)).ToList();

        var over = shape.Answer(shape.Send(7, 16));
        Assert.Equal(OutcomeKind.RateLimited, over.Kind);
        Assert.False(over.RateLimits.HasRateHeaders);
        Assert.Null(over.RateLimits.RetryAfter);

        clock.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal(OutcomeKind.Success, shape.Answer(held[0]).Kind);
        Assert.Equal(OutcomeKind.Success, shape.Answer(shape.Send(7, 16)).Kind);
    }

    [Theory]
    [InlineData(0, 2)]
    [InlineData(100, 300)]
    public void As_a_virtual_shape_the_simulators_burst_5_gcra_is_run_at_its_rate_by_auto(int low, int high)
    {
        // The same provider as GcraIetfSeparateShape, but the simulator's own limiter and header writer.
        var clock = new FakeTimeProvider(VirtualShapeLoop.T0);
        var shape = new SimulatorShape(Zoo("gcra-ietf-separate").Settings(quick: true), clock);
        var loop = new VirtualShapeLoop(new ActorThrottle.Adaptation.RateController(RateControllerReplaySpec.Settings("requests-per-second = auto")), shape, (low, high));
        loop.Run(20);

        Assert.True(loop.Goodput(10, 20) >= 0.95 * 100, $"goodput after 10 s {loop.Goodput(10, 20):0.#}: {loop.Describe()}");
        Assert.True(loop.RejectedShare(10, 20) <= 0.03, loop.Describe());
    }
}
