namespace ActorThrottle.Routing;

/// <summary>Ask the router to stop taking work and answer everything it holds; answered with <see cref="ThrottleShutdownComplete"/>.</summary>
public sealed record ShutdownThrottle
{
    public static readonly ShutdownThrottle Instance = new();
}

/// <summary>Every model has answered every request it held.</summary>
public sealed record ThrottleShutdownComplete(int Models);

/// <summary>Router → supervisor: begin shutdown.</summary>
internal sealed record ShutdownModel
{
    public static readonly ShutdownModel Instance = new();
}

/// <summary>Supervisor → router: this model holds nothing more.</summary>
internal sealed record ModelShutdownComplete(string Model);

/// <summary>
/// Supervisor → router: a request that failed on its model, to be tried on <c>Request.Model</c> (a fallback). The
/// fallback's supervisor answers <paramref name="ReplyTo"/>; <paramref name="Tried"/> are the models already tried and
/// <paramref name="Remaining"/> the rest of the original model's fallback list, tried next if this one fails too.
/// </summary>
internal sealed record FallbackRequest(Messages.ChatRequest Request, Akka.Actor.IActorRef ReplyTo, IReadOnlyList<string> Tried, IReadOnlyList<string> Remaining, int PriorAttempts);
