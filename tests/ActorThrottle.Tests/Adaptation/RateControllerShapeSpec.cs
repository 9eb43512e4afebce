using ActorThrottle.Adaptation;
using Xunit;
using Xunit.Abstractions;

namespace ActorThrottle.Tests.Adaptation;

/// <summary>
/// The provider shapes where <c>requests-per-second = auto</c> missed in the benchmark matrix (issue 13), each reproduced
/// on virtual time with the pipeline as the supervisor wires it (<see cref="VirtualShapeLoop"/>).
/// </summary>
public sealed class RateControllerShapeSpec(ITestOutputHelper output)
{
    private static RateController Auto(string extra = "") => new(RateControllerReplaySpec.Settings($"requests-per-second = auto\n{extra}"));

    [Theory]
    [InlineData(30)]
    [InlineData(80)]
    public void Auto_against_a_concurrency_cap_of_20_lowers_the_in_flight_limit_keeps_the_rate_and_runs_at_the_cap(int maxTransitMs)
    {
        foreach (var seed in new[] { 1, 2, 3, 4, 5 })
        {
            // 20 in flight at 100-300 ms: about 100/s.
            var loop = new VirtualShapeLoop(Auto(), new ConcurrencyCapShape(20, maxTransitMs, seed), (100, 300), seed);
            loop.Run(30);
            output.WriteLine($"seed {seed}: {loop.Describe()}");

            Assert.True(loop.Goodput(10, 30) >= 0.95 * 100, $"goodput after 10 s {loop.Goodput(10, 30):0.#}: {loop.Describe()}");
            Assert.True(loop.RejectedShare(10, 30) <= 0.03, loop.Describe());
            Assert.DoesNotContain(loop.Changes, c => c.Reason == RateChangeReason.Overload);
        }
    }
}
