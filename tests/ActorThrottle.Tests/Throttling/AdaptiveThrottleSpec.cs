using ActorThrottle.Tests.Support;
using ActorThrottle.Throttling;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Streams.TestKit;
using Akka.TestKit;
using Xunit;

namespace ActorThrottle.Tests.Throttling;

/// <summary>
/// The stage under virtual time: the system runs on Akka's TestScheduler and the stage reads the same clock,
/// so time only moves when a test advances it.
/// </summary>
public sealed class AdaptiveThrottleSpec : Akka.TestKit.Xunit2.TestKit
{
    private readonly TestScheduler _scheduler;
    private readonly ActorMaterializer _materializer;
    private readonly SchedulerTimeProvider _time;

    public AdaptiveThrottleSpec()
        : base("akka.scheduler.implementation = \"Akka.TestKit.TestScheduler, Akka.TestKit\"\nakka.loglevel = WARNING")
    {
        _scheduler = (TestScheduler)Sys.Scheduler;
        _time = new SchedulerTimeProvider(_scheduler);
        _materializer = Sys.Materializer();
    }

    private (IThrottleControl Control, TestSubscriber.Probe<int> Probe) Run(double rate, int burst, long tpm = 0, Func<int, long>? cost = null, Func<int, bool>? obsolete = null, long? tokensBurst = null)
    {
        var (control, probe) = Source.From(Enumerable.Range(1, 100_000))
            .ViaMaterialized(new AdaptiveThrottle<int>(rate, burst, tpm, cost ?? (_ => 0), _time, obsolete, tokensBurst: tokensBurst), Keep.Right)
            .ToMaterialized(this.SinkProbe<int>(), Keep.Both)
            .Run(_materializer);
        return (control, probe);
    }

    private void ExpectCount(TestSubscriber.Probe<int> probe, int count)
    {
        for (var i = 0; i < count; i++)
        {
            probe.ExpectNext(TimeSpan.FromSeconds(3));
        }
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(150));
    }

    private void Advance(TimeSpan by, int steps = 1)
    {
        for (var i = 0; i < steps; i++)
        {
            _scheduler.Advance(by);
        }
    }

    [Fact]
    public void With_a_burst_of_1_at_1000_per_second_every_10ms_tick_releases_10()
    {
        var (_, probe) = Run(rate: 1000, burst: 1);
        probe.Request(10_000);
        ExpectCount(probe, 11); // the bucket starts full: max(1, 1000/s × 10 ms + 1)
        for (var tick = 0; tick < 20; tick++)
        {
            Advance(TimeSpan.FromMilliseconds(10));
            ExpectCount(probe, 10);
        }
    }

    [Fact]
    public void A_rate_change_takes_effect_at_once()
    {
        var (control, probe) = Run(rate: 1, burst: 1);
        probe.Request(1000);
        ExpectCount(probe, 1);
        // At 1/s the next element would wait a second; at 100/s it is due 10 ms after the change.
        control.SetRate(100);
        AwaitCondition(() => Math.Abs(control.Current.Rate - 100) < 1e-9);
        Advance(TimeSpan.FromMilliseconds(10));
        ExpectCount(probe, 1);
        for (var tick = 0; tick < 10; tick++)
        {
            Advance(TimeSpan.FromMilliseconds(10));
            ExpectCount(probe, 1);
        }
    }

    [Fact]
    public void A_pause_holds_until_its_instant_and_then_releases()
    {
        var (control, probe) = Run(rate: 100, burst: 5);
        control.PauseUntil(_scheduler.Now + TimeSpan.FromSeconds(1));
        AwaitCondition(() => control.Current.PausedUntil > _scheduler.Now);
        probe.Request(1000);
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(150));
        Advance(TimeSpan.FromMilliseconds(100), steps: 9);
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Advance(TimeSpan.FromMilliseconds(100));
        // The bucket kept filling during the pause, up to its burst.
        ExpectCount(probe, 5);
    }

    [Fact]
    public void Shrinking_the_burst_never_refills_the_bucket()
    {
        var (control, probe) = Run(rate: 10, burst: 8);
        probe.Request(1000);
        ExpectCount(probe, 8);
        control.SetBurst(2);
        control.SetBurst(8);
        AwaitCondition(() => control.Current.Burst == 8);
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Advance(TimeSpan.FromMilliseconds(100));
        ExpectCount(probe, 1);
    }

    [Fact]
    public void The_token_bucket_limits_by_cost()
    {
        // 600 tokens/minute = 10/s; each element costs 100 → one element per 10 s after the first 6.
        var (_, probe) = Run(rate: 1000, burst: 100, tpm: 600, cost: _ => 100, tokensBurst: 600);
        probe.Request(1000);
        ExpectCount(probe, 6);
        Advance(TimeSpan.FromSeconds(5), steps: 1);
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Advance(TimeSpan.FromSeconds(5), steps: 1);
        ExpectCount(probe, 1);
    }

    [Fact]
    public void With_tokens_burst_only_the_burst_leaves_at_once_then_the_token_rate_paces()
    {
        // 60,000 tokens/min = 1,000/s, burst 3,000, cost 1,000: three at once (not the sixty a minute would hold), then one per second.
        var (control, probe) = Run(rate: 1000, burst: 100, tpm: 60_000, cost: _ => 1000, tokensBurst: 3000);
        probe.Request(1000);
        ExpectCount(probe, 3);
        Advance(TimeSpan.FromMilliseconds(500));
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Advance(TimeSpan.FromMilliseconds(500));
        ExpectCount(probe, 1);
        // A lower token rate (AIMD after token 429s) paces slower and keeps the burst.
        control.SetTokensPerMinute(30_000);
        AwaitCondition(() => control.Current.TokensPerMinute == 30_000);
        Advance(TimeSpan.FromSeconds(1));
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Advance(TimeSpan.FromSeconds(1));
        ExpectCount(probe, 1);
    }

    [Fact]
    public void A_pause_that_empties_releases_after_it_only_what_accrued_during_it()
    {
        // The bucket starts full (50); a plain pause would let all 50 out when it ends.
        var (control, probe) = Run(rate: 100, burst: 50);
        control.PauseEmptyUntil(_scheduler.Now + TimeSpan.FromMilliseconds(200));
        AwaitCondition(() => control.Current.PausedUntil > _scheduler.Now);
        probe.Request(1000);
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(150));
        Advance(TimeSpan.FromMilliseconds(100), steps: 2);
        // 200 ms at 100/s.
        ExpectCount(probe, 20);
    }

    [Fact]
    public void Obsolete_elements_are_dropped_without_spending_a_slot()
    {
        var (_, probe) = Run(rate: 1, burst: 2, obsolete: i => i % 2 == 0);
        probe.Request(10);
        Assert.Equal(1, probe.ExpectNext());
        Assert.Equal(3, probe.ExpectNext());
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void Invalid_control_values_are_refused_at_the_call()
    {
        var (control, _) = Run(rate: 1, burst: 1);
        Assert.Throws<ArgumentOutOfRangeException>(() => control.SetRate(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => control.SetBurst(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => control.SetTokensPerMinute(-1));
    }
}
