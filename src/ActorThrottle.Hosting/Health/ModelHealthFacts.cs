using ActorThrottle.Models;

namespace ActorThrottle.Hosting.Health;

/// <summary>What the health rules know of one model.</summary>
/// <param name="Model">The model id.</param>
/// <param name="Endpoint">Its endpoint for messages (scheme, host, port, path; never a key).</param>
/// <param name="MissingKey">Its endpoint needs a key and none is configured.</param>
/// <param name="Status">Its status from the router (an unused model's is empty).</param>
/// <param name="ProbeFailure">Why the start-up probe could not reach the endpoint; null when it did or did not run.</param>
public sealed record ModelHealthFacts(string Model, string Endpoint, bool MissingKey, ModelStatus Status, string? ProbeFailure = null);
