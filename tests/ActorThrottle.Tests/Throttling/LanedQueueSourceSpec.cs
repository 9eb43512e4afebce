using ActorThrottle.Throttling;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Streams.TestKit;
using Xunit;

namespace ActorThrottle.Tests.Throttling;

public sealed class LanedQueueSourceSpec : Akka.TestKit.Xunit2.TestKit
{
    public LanedQueueSourceSpec() : base("akka.loglevel = WARNING")
    {
    }

    private (IWorkQueue<string> Queue, TestSubscriber.Probe<string> Probe) Run(int capacity, int lanes = 4, int lanesPerGroup = 1, int starvationGuard = 0) =>
        Source.FromGraph(new LanedQueueSource<string>(capacity, lanes, lanesPerGroup, starvationGuard))
            .ToMaterialized(this.SinkProbe<string>(), Keep.Both)
            .Run(Sys.Materializer());

    [Fact]
    public void Lower_lanes_leave_first_and_each_lane_is_first_in_first_out()
    {
        var (queue, probe) = Run(capacity: 10);
        Assert.True(queue.TryEnqueue("batch-1", 3));
        Assert.True(queue.TryEnqueue("first-1", 1));
        Assert.True(queue.TryEnqueue("retry-1", 0));
        Assert.True(queue.TryEnqueue("first-2", 1));
        probe.Request(4);
        Assert.Equal(["retry-1", "first-1", "first-2", "batch-1"], new[] { probe.ExpectNext(), probe.ExpectNext(), probe.ExpectNext(), probe.ExpectNext() });
    }

    [Fact]
    public void A_full_queue_refuses_at_once_and_holds_no_more_than_its_capacity()
    {
        var (queue, _) = Run(capacity: 3);
        Assert.True(queue.TryEnqueue("a", 1));
        Assert.True(queue.TryEnqueue("b", 1));
        Assert.True(queue.TryEnqueue("c", 1));
        Assert.False(queue.TryEnqueue("d", 0));
        Assert.Equal(3, queue.Count);
    }

    [Fact]
    public void A_withdrawn_item_never_leaves()
    {
        var (queue, probe) = Run(capacity: 3);
        queue.TryEnqueue("a", 1);
        queue.TryEnqueue("b", 1);
        Assert.True(queue.TryRemove("a"));
        Assert.False(queue.TryRemove("a"));
        probe.Request(5);
        Assert.Equal("b", probe.ExpectNext());
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void An_item_offered_while_downstream_waits_is_delivered()
    {
        var (queue, probe) = Run(capacity: 3);
        probe.Request(1);
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(50));
        queue.TryEnqueue("late", 2);
        Assert.Equal("late", probe.ExpectNext());
    }

    [Fact]
    public void Draining_returns_everything_in_release_order()
    {
        var (queue, _) = Run(capacity: 5);
        queue.TryEnqueue("b", 1);
        queue.TryEnqueue("a", 0);
        Assert.Equal(["a", "b"], queue.DrainAll());
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public void A_batch_flood_holds_an_interactive_item_back_by_at_most_one_release_and_batch_keeps_its_share()
    {
        // Groups of two lanes: [interactive retry, interactive first], [batch retry, batch first]; guard 3 → batch gets 1 in 4.
        var (queue, probe) = Run(capacity: 1000, lanes: 4, lanesPerGroup: 2, starvationGuard: 3);
        for (var i = 0; i < 100; i++)
        {
            queue.TryEnqueue("batch" + i, 3);
        }
        for (var i = 0; i < 20; i++)
        {
            queue.TryEnqueue("interactive" + i, 1);
        }
        probe.Request(40);
        var order = Enumerable.Range(0, 40).Select(_ => probe.ExpectNext()).ToList();
        // Interactive first, with one batch release after every three interactive ones while both wait.
        var expected = new List<string>();
        int nextInteractive = 0, nextBatch = 0;
        while (nextInteractive < 20)
        {
            for (var k = 0; k < 3 && nextInteractive < 20; k++)
            {
                expected.Add("interactive" + nextInteractive++);
            }
            if (nextInteractive < 20)
            {
                expected.Add("batch" + nextBatch++);
            }
        }
        while (expected.Count < 40)
        {
            expected.Add("batch" + nextBatch++);
        }
        Assert.Equal(expected, order);
        // So an interactive item is never held back by more than one batch release, and batch kept 1 in 4.
    }

    [Fact]
    public void With_no_guard_priority_is_strict()
    {
        var (queue, probe) = Run(capacity: 100, lanes: 4, lanesPerGroup: 2, starvationGuard: 0);
        for (var i = 0; i < 5; i++)
        {
            queue.TryEnqueue("batch" + i, 3);
            queue.TryEnqueue("interactive" + i, 1);
        }
        probe.Request(10);
        var order = Enumerable.Range(0, 10).Select(_ => probe.ExpectNext()).ToList();
        Assert.All(order.Take(5), o => Assert.StartsWith("interactive", o));
    }
}
