using ActorThrottle.Backend;
using ActorThrottle.Messages;
using ActorThrottle.Tests.Support;
using Xunit;

namespace ActorThrottle.Tests.Engine;

/// <summary>The supervisor pauses as <see cref="RateLimitPause"/> decides: a whole-second reset of a known window is paced.</summary>
public sealed class HeaderPauseSpec : EngineSpecBase
{
    private static RateLimitInfo Draft7(string rateLimit, string policy)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["RateLimit"] = rateLimit, ["RateLimit-Policy"] = policy };
        return RateLimitHeaders.Parse(n => headers.GetValueOrDefault(n), DateTimeOffset.UtcNow);
    }

    [Fact]
    public async Task A_draft7_reset_of_one_second_on_a_known_window_pauses_one_slot_not_a_second()
    {
        var limits = Draft7("limit=100, remaining=0, reset=1", "100;w=1");
        var backend = new ScriptedBackend((r, _) => ScriptedBackend.Success(r) with { RateLimits = limits });
        var engine = StartEngine(backend);
        await Ask<ChatSuccess>(engine, Request(id: "a"));
        await Ask<ChatSuccess>(engine, Request(id: "b"));
        // The old decision held the second call for the whole second; the paced one for 10 ms.
        var gap = backend.Calls[1].At - backend.Calls[0].At;
        Assert.True(gap < TimeSpan.FromMilliseconds(800), $"second call after {gap.TotalMilliseconds} ms");
    }

    [Fact]
    public async Task Without_a_window_a_whole_second_reset_still_pauses()
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["RateLimit-Remaining"] = "0", ["RateLimit-Reset"] = "2" };
        var limits = RateLimitHeaders.Parse(n => headers.GetValueOrDefault(n), DateTimeOffset.UtcNow);
        var backend = new ScriptedBackend((r, _) => ScriptedBackend.Success(r) with { RateLimits = limits });
        var engine = StartEngine(backend);
        await Ask<ChatSuccess>(engine, Request(id: "a"));
        var paused = (await engine.GetStatusAsync("m")).PausedUntil;
        // 1.5 s: the middle of the (1 s, 2 s] the reset bounds.
        Assert.True(paused > DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(700), $"paused until {paused:O}, now {DateTimeOffset.UtcNow:O}");
    }
}
