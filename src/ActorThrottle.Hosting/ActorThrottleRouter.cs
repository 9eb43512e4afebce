namespace ActorThrottle.Hosting;

/// <summary>
/// The <c>ActorRegistry</c> key of ActorThrottle's router. Inject <c>IRequiredActor&lt;ActorThrottleRouter&gt;</c>
/// to <c>Ask</c> it directly, or <see cref="ActorThrottleClient"/> for a typed facade.
/// </summary>
public sealed class ActorThrottleRouter
{
    private ActorThrottleRouter()
    {
    }
}
