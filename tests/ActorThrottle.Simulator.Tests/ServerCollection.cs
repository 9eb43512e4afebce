namespace ActorThrottle.Simulator.Tests;

/// <summary>Tests that start servers run one at a time so CPU contention cannot turn into 429s or timeouts.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ServerCollection
{
    public const string Name = "Simulator servers";
}
