using ActorThrottle.Throttling;
using Xunit;

namespace ActorThrottle.Tests.Throttling;

public sealed class InFlightGateTests
{
    [Fact]
    public async Task Calls_up_to_the_limit_enter_at_once_with_their_in_flight_count()
    {
        var gate = new InFlightGate(3);
        var entered = await Task.WhenAll(gate.EnterAsync(), gate.EnterAsync(), gate.EnterAsync());
        Assert.Equal(new[] { 1, 2, 3 }, entered);
        var fourth = gate.EnterAsync();
        Assert.False(fourth.IsCompleted);
        Assert.Equal(3, gate.InFlight);
    }

    [Fact]
    public async Task An_exit_lets_the_first_waiter_in()
    {
        var gate = new InFlightGate(1);
        await gate.EnterAsync();
        var second = gate.EnterAsync();
        var third = gate.EnterAsync();
        gate.Exit();
        Assert.Equal(1, await second.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.False(third.IsCompleted);
    }

    [Fact]
    public async Task A_lowered_limit_admits_no_one_until_enough_have_left()
    {
        var gate = new InFlightGate(4);
        for (var i = 0; i < 4; i++)
        {
            await gate.EnterAsync();
        }
        gate.SetLimit(2);
        var waiter = gate.EnterAsync();
        gate.Exit();
        gate.Exit();
        Assert.False(waiter.IsCompleted);
        gate.Exit();
        Assert.Equal(2, await waiter.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(2, gate.Limit);
    }

    [Fact]
    public async Task A_raised_limit_lets_waiters_in_at_once()
    {
        var gate = new InFlightGate(1);
        await gate.EnterAsync();
        var a = gate.EnterAsync();
        var b = gate.EnterAsync();
        gate.SetLimit(3);
        var entered = await Task.WhenAll(a, b).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(new[] { 2, 3 }, entered);
    }

    [Fact]
    public void Bad_use_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new InFlightGate(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new InFlightGate(2).SetLimit(0));
        Assert.Throws<InvalidOperationException>(() => new InFlightGate(2).Exit());
    }
}
