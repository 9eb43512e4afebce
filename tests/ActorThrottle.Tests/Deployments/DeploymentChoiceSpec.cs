using ActorThrottle.Deployments;
using Xunit;

namespace ActorThrottle.Tests.Deployments;

public sealed class DeploymentChoiceSpec
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 1, 0, 0, TimeSpan.Zero);

    private static DeploymentView D(int index, double rate, int held = 0, int capacity = 100, int priority = 0, double weight = 1,
        DateTimeOffset? until = null, bool probing = false) =>
        new(index, priority, weight, rate, held, capacity, until, probing);

    [Fact]
    public void An_idle_faster_deployment_is_chosen_first()
    {
        Assert.Equal(1, DeploymentChoice.Choose([D(0, 5), D(1, 20)], Now));
    }

    [Fact]
    public void Work_is_shared_in_proportion_to_the_rates()
    {
        // Hand out 250 requests one by one, never answering: each goes where (held + 1) / rate is least.
        var views = new[] { D(0, 20, capacity: 1000), D(1, 5, capacity: 1000) };
        for (var i = 0; i < 250; i++)
        {
            var chosen = DeploymentChoice.Choose(views, Now)!.Value;
            views[chosen] = views[chosen] with { Held = views[chosen].Held + 1 };
        }
        Assert.Equal(200, views[0].Held);
        Assert.Equal(50, views[1].Held);
    }

    [Fact]
    public void A_weight_tilts_the_share()
    {
        var views = new[] { D(0, 10, weight: 3), D(1, 10) };
        for (var i = 0; i < 100; i++)
        {
            var chosen = DeploymentChoice.Choose(views, Now)!.Value;
            views[chosen] = views[chosen] with { Held = views[chosen].Held + 1 };
        }
        Assert.Equal(75, views[0].Held);
        Assert.Equal(25, views[1].Held);
    }

    [Fact]
    public void Ties_go_to_the_lower_index()
    {
        Assert.Equal(0, DeploymentChoice.Choose([D(0, 10), D(1, 10)], Now));
        Assert.Equal(1, DeploymentChoice.Choose([D(0, 10, held: 1), D(1, 10)], Now));
    }

    [Fact]
    public void A_full_deployment_takes_nothing_and_when_all_are_full_the_request_waits()
    {
        Assert.Equal(1, DeploymentChoice.Choose([D(0, 100, held: 4, capacity: 4), D(1, 1, held: 3)], Now));
        Assert.Null(DeploymentChoice.Choose([D(0, 100, held: 4, capacity: 4), D(1, 1, held: 2, capacity: 2)], Now));
    }

    [Fact]
    public void A_lower_priority_number_is_used_while_it_has_room_however_slow()
    {
        Assert.Equal(0, DeploymentChoice.Choose([D(0, 1, held: 5, priority: 0), D(1, 1000, priority: 1)], Now));
        Assert.Equal(1, DeploymentChoice.Choose([D(0, 1, held: 5, capacity: 5, priority: 0), D(1, 1000, priority: 1)], Now));
        Assert.Equal(2, DeploymentChoice.Choose([D(0, 1, priority: 2), D(1, 1, priority: 1, until: Now.AddSeconds(1)), D(2, 1, priority: 1)], Now));
    }

    [Fact]
    public void A_cooled_down_deployment_is_skipped_until_its_instant()
    {
        var views = new[] { D(0, 100, until: Now.AddSeconds(2)), D(1, 1) };
        Assert.Equal(1, DeploymentChoice.Choose(views, Now));
        Assert.Equal(1, DeploymentChoice.Choose(views, Now.AddSeconds(2).AddTicks(-1)));
        Assert.Equal(0, DeploymentChoice.Choose(views, Now.AddSeconds(2)));
        Assert.Null(DeploymentChoice.Choose([D(0, 1, until: Now.AddSeconds(1))], Now));
    }

    [Fact]
    public void A_probing_deployment_takes_one_request_at_a_time()
    {
        Assert.Equal(0, DeploymentChoice.Choose([D(0, 100, probing: true), D(1, 1, held: 50)], Now));
        Assert.Equal(1, DeploymentChoice.Choose([D(0, 100, held: 1, probing: true), D(1, 1, held: 50)], Now));
    }

    [Fact]
    public void Excluded_deployments_are_skipped_and_a_request_is_exhausted_when_all_are_excluded()
    {
        var views = new[] { D(0, 100), D(1, 1) };
        Assert.Equal(1, DeploymentChoice.Choose(views, Now, i => i == 0));
        Assert.Null(DeploymentChoice.Choose(views, Now, _ => true));
        Assert.False(DeploymentChoice.Exhausted(views, i => i == 0));
        Assert.True(DeploymentChoice.Exhausted(views, _ => true));
    }

    [Theory]
    [InlineData(20, 0, 1000, 20)]      // a second of its rate
    [InlineData(20, 500, 1000, 30)]    // plus what 0.5 s calls keep in flight
    [InlineData(5, 4000, 1000, 25)]    // slow calls: rate × (1 s + latency)
    [InlineData(0.1, 0, 1000, 2)]      // never below 2
    [InlineData(1000, 0, 50, 50)]      // never above the queue size
    public void Capacity_is_a_second_of_rate_plus_the_calls_in_flight(double rate, int latencyMs, int queueSize, int expected)
    {
        Assert.Equal(expected, DeploymentChoice.Capacity(rate, TimeSpan.FromMilliseconds(latencyMs), queueSize));
    }

    [Fact]
    public void The_choice_is_a_function_of_its_inputs()
    {
        var random = new Random(16);
        for (var round = 0; round < 500; round++)
        {
            var views = Enumerable.Range(0, random.Next(1, 5)).Select(i => D(i, 0.5 + random.NextDouble() * 50, random.Next(0, 10), random.Next(1, 12),
                random.Next(0, 3), 0.5 + random.NextDouble() * 2, random.Next(3) == 0 ? Now.AddSeconds(random.Next(-2, 3)) : null, random.Next(4) == 0)).ToArray();
            var chosen = DeploymentChoice.Choose(views, Now);
            Assert.Equal(chosen, DeploymentChoice.Choose(views.Reverse().ToArray(), Now));
            var candidates = views.Where(v => !v.IsUnavailable(Now) && v.Room > 0).ToList();
            if (candidates.Count == 0)
            {
                Assert.Null(chosen);
                continue;
            }
            var pick = views[chosen!.Value];
            Assert.Equal(candidates.Min(c => c.Priority), pick.Priority);
            var wait = (pick.Held + 1) / (pick.Rate * pick.Weight);
            Assert.All(candidates.Where(c => c.Priority == pick.Priority), c => Assert.True(wait <= (c.Held + 1) / (c.Rate * c.Weight)));
        }
    }

    [Fact]
    public void At_the_end_of_a_backlog_a_slow_deployments_unsent_work_goes_to_an_idle_fast_one()
    {
        // The deployments benchmark's tail: the known 20/s deployment idle, the learning one holding 3 at 2.7/s (1.1 s).
        Assert.Equal(1, DeploymentChoice.StealFrom([D(0, 20), D(1, 2.7, held: 3)], Now));
    }

    [Theory]
    [InlineData(20, 1, 2.7, 3, true)]     // 0.10 s against 1.11 s
    [InlineData(20, 20, 2.7, 3, false)]   // the fast one is busy for 1.05 s: no sooner
    [InlineData(20, 0, 20, 5, false)]     // equal rates: 0.05 s against 0.25 s, within the margin
    [InlineData(20, 0, 20, 7, true)]      // 0.05 s against 0.35 s
    [InlineData(20, 0, 0.2, 1, true)]     // one held for 5 s: it may be waiting for the slow one's next token
    [InlineData(20, 0, 5, 1, false)]      // one held at 5/s: 0.2 s against 0.05 s, within the margin
    public void Work_moves_only_when_another_deployment_would_send_it_sooner_by_the_margin(double fastRate, int fastHeld, double slowRate, int slowHeld, bool moves)
    {
        Assert.Equal(moves ? 1 : null, DeploymentChoice.StealFrom([D(0, fastRate, held: fastHeld), D(1, slowRate, held: slowHeld)], Now));
    }

    [Fact]
    public void Work_never_moves_to_a_deployment_that_is_out_probing_full_or_of_a_higher_priority_number()
    {
        var slow = D(1, 2, held: 4);
        Assert.Null(DeploymentChoice.StealFrom([D(0, 20, until: Now.AddSeconds(1)), slow], Now));
        Assert.Null(DeploymentChoice.StealFrom([D(0, 20, probing: true), slow], Now));
        Assert.Null(DeploymentChoice.StealFrom([D(0, 20, held: 5, capacity: 5), slow], Now));
        Assert.Null(DeploymentChoice.StealFrom([D(0, 20, priority: 1), slow], Now));
        Assert.Equal(1, DeploymentChoice.StealFrom([D(0, 20, priority: 1), slow with { Priority = 2 }], Now));
    }

    [Fact]
    public void Work_is_taken_from_the_available_deployment_slowest_to_drain_and_never_from_one_that_is_out()
    {
        Assert.Equal(2, DeploymentChoice.StealFrom([D(0, 20), D(1, 4, held: 4), D(2, 2, held: 4)], Now));
        // An unavailable one is the cool-down's business (its work is taken back whole, whatever the others hold).
        Assert.Equal(1, DeploymentChoice.StealFrom([D(0, 20), D(1, 4, held: 4), D(2, 2, held: 4, until: Now.AddSeconds(2))], Now));
        Assert.Null(DeploymentChoice.StealFrom([D(0, 20), D(1, 4, held: 1)], Now));
        Assert.Null(DeploymentChoice.StealFrom([D(0, 20), D(1, 0.5)], Now));
        Assert.Null(DeploymentChoice.StealFrom([D(0, 20)], Now));
    }

    [Fact]
    public void A_weight_counts_in_the_drain_times()
    {
        // 4 held at 2/s is 2 s; with weight 8 it counts as 16/s (0.25 s, within the margin of 0.05 s), with weight 4 as 8/s (0.5 s).
        Assert.Null(DeploymentChoice.StealFrom([D(0, 20), D(1, 2, held: 4, weight: 8)], Now));
        Assert.Equal(1, DeploymentChoice.StealFrom([D(0, 20), D(1, 2, held: 4, weight: 4)], Now));
    }
}
