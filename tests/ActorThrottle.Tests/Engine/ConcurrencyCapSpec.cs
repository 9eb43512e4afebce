using ActorThrottle.Messages;
using ActorThrottle.Tests.Support;
using Xunit;

namespace ActorThrottle.Tests.Engine;

/// <summary>A provider that rejects beyond N calls in flight, with no rate header: max-in-flight comes down, the rate does not.</summary>
public sealed class ConcurrencyCapSpec : EngineSpecBase
{
    [Fact]
    public async Task Headerless_429s_beyond_three_in_flight_lower_the_in_flight_limit_and_leave_the_rate_alone()
    {
        var firstRelease = new TaskCompletionSource();
        var secondRelease = new TaskCompletionSource();
        var inFlight = 0;
        var rejected = 0;
        var backend = new ScriptedBackend(async (r, _, _) =>
        {
            try
            {
                if (Interlocked.Increment(ref inFlight) > 3)
                {
                    Interlocked.Increment(ref rejected);
                    return ScriptedBackend.RateLimited();
                }
                await (r.RequestId.StartsWith('a') ? firstRelease : secondRelease).Task;
                return ScriptedBackend.Success(r);
            }
            finally
            {
                Interlocked.Decrement(ref inFlight);
            }
        });
        var engine = StartEngine(backend, "actor-throttle.defaults { max-in-flight = 6, max-burst = 6, requests-per-second = 1000, retry { max-attempts = 10, base-delay = 10ms, max-delay = 50ms } }");

        // Three calls at once succeed: the provider is seen accepting three in flight.
        var first = Enumerable.Range(0, 3).Select(i => engine.CompleteAsync(Request(id: "a" + i))).ToList();
        await AwaitConditionAsync(() => Task.FromResult(Volatile.Read(ref inFlight) == 3));
        firstRelease.SetResult();
        Assert.All(await Task.WhenAll(first), r => Assert.IsType<ChatSuccess>(r));

        // Three more held, then three over the cap: rejected at in-flight 4 to 6 — or fewer, when the first 429 lowered the
        // limit before the others passed the gate.
        var held = Enumerable.Range(0, 3).Select(i => engine.CompleteAsync(Request(id: "b" + i))).ToList();
        await AwaitConditionAsync(() => Task.FromResult(Volatile.Read(ref inFlight) == 3));
        var over = Enumerable.Range(0, 3).Select(i => engine.CompleteAsync(Request(id: "c" + i))).ToList();
        await AwaitConditionAsync(() => Task.FromResult(Volatile.Read(ref rejected) >= 1));
        await AwaitConditionAsync(async () => (await engine.GetStatusAsync("m")).InFlightLimit == 3);
        var status = await engine.GetStatusAsync("m");
        Assert.Equal(1000, status.Rate);
        Assert.Equal(6, status.Burst);
        // The retries wait at the gate while three calls hold it: no further 429 reaches the provider.
        await Task.Delay(300);
        var rejectedAtTheCap = Volatile.Read(ref rejected);
        Assert.InRange(rejectedAtTheCap, 1, 3);
        await Task.Delay(300);
        Assert.Equal(rejectedAtTheCap, Volatile.Read(ref rejected));
        secondRelease.SetResult();
        Assert.All(await Task.WhenAll(held.Concat(over)), r => Assert.IsType<ChatSuccess>(r));
        Assert.Equal(1000, (await engine.GetStatusAsync("m")).Rate);
    }
}
