using Xunit;

namespace ActorThrottle.Tests.Backend;

/// <summary>
/// Tests that start servers on loopback run one at a time, so a busy machine does not turn CPU stalls into timeouts.
/// Join with <c>[Collection(LoopbackCollection.Name)]</c>.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LoopbackCollection
{
    public const string Name = "loopback";
}
