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
}
