using Akka.Actor;

namespace ActorThrottle.Tests.Support;

/// <summary>
/// Reads the time from an Akka scheduler. With <c>TestScheduler</c>, stage timers and the clock then move
/// together only when the test advances them (TestScheduler does not advance its monotonic clock).
/// </summary>
public sealed class SchedulerTimeProvider(IScheduler scheduler) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => scheduler.Now;
}
