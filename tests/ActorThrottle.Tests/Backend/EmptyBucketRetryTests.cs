using ActorThrottle.Backend;
using Xunit;

namespace ActorThrottle.Tests.Backend;

/// <summary>
/// A 429 from an empty bucket whose pace is known and whose waits are whole seconds
/// (<see cref="RateLimitHints.EmptyBucketPace"/>, <see cref="RateLimitPause.RetryFloor"/>): a burst signal, retried after
/// one request's worth; every other 429 keeps its retry-after.
/// </summary>
public sealed class EmptyBucketRetryTests
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    // What a burst-5 GCRA at 100/s says in the IETF separate fields on a 429: RateLimit-Limit 100, -Remaining 0, -Reset 1, retry-after 1.
    private static readonly RateLimitInfo Gcra = new()
    {
        Dialect = RateLimitDialect.IetfSeparate, LimitRequests = 100, RemainingRequests = 0, ResetRequests = Second, ResetRequestsGranularity = Second,
        RetryAfter = Second, RetryAfterGranularity = Second,
    };

    [Fact]
    public void A_gcra_429_with_whole_second_fields_gives_the_bucket_pace_and_a_retry_after_one_requests_worth()
    {
        Assert.Equal(99.5, RateLimitHints.EmptyBucketPace(Gcra));
        Assert.Equal(TimeSpan.FromMilliseconds(10), RateLimitPause.RetryFloor(Gcra));
    }

    [Fact]
    public void Without_a_retry_after_the_pace_is_still_read_and_there_is_no_floor()
    {
        var info = Gcra with { RetryAfter = null, RetryAfterGranularity = TimeSpan.Zero };
        Assert.Equal(99.5, RateLimitHints.EmptyBucketPace(info));
        Assert.Null(RateLimitPause.RetryFloor(info));
    }

    public static TheoryData<string, RateLimitInfo> NotABurstSignal => new()
    {
        { "something remains", Gcra with { RemainingRequests = 3 } },
        { "remaining unknown", Gcra with { RemainingRequests = null } },
        { "no limit", Gcra with { LimitRequests = null } },
        { "no reset", Gcra with { ResetRequests = null } },
        { "a window (IETF draft-7 policy): its quota spent is the pace, and retrying early may be charged", Gcra with { WindowRequests = Second } },
        { "a policy", Gcra with { Policies = [new RateLimitPolicy(null, 100, Second)] } },
        { "an exact reset (OpenAI Go duration)", Gcra with { ResetRequestsGranularity = TimeSpan.Zero, ResetRequests = TimeSpan.FromMilliseconds(400) } },
        { "an exact retry-after (retry-after-ms)", Gcra with { RetryAfterGranularity = TimeSpan.Zero } },
        { "a zero limit", Gcra with { LimitRequests = 0 } },
    };

    [Theory]
    [MemberData(nameof(NotABurstSignal))]
    public void Any_other_429_is_no_burst_signal_and_keeps_its_retry_after(string why, RateLimitInfo info)
    {
        Assert.True(RateLimitHints.EmptyBucketPace(info) is null, why);
        Assert.Equal(info.RetryAfter, RateLimitPause.RetryFloor(info));
    }

    [Fact]
    public void A_longer_retry_after_is_still_cut_to_the_pace_and_a_shorter_one_stands()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(10), RateLimitPause.RetryFloor(Gcra with { RetryAfter = TimeSpan.FromSeconds(3) }));
        // A bucket of 2 per second: one request's worth is 500 ms; a whole-second reset of 1 and retry-after 1.
        var slow = Gcra with { LimitRequests = 2 };
        Assert.Equal(1.5, RateLimitHints.EmptyBucketPace(slow));
        Assert.Equal(TimeSpan.FromMilliseconds(500), RateLimitPause.RetryFloor(slow));
    }
}
