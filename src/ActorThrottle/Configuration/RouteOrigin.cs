namespace ActorThrottle.Configuration;

/// <summary>Where a model's route came from: the level that set its endpoint, and the levels that might hold its key.</summary>
internal sealed record RouteOrigin(string EndpointPrefix, IReadOnlyList<CredentialLevel> Levels);
