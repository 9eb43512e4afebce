namespace ActorThrottle.Backend;

/// <summary>
/// The sustained rates a provider's headers advertise (<see cref="RateLimitHints.Advertised"/>); a null rate was not said.
/// </summary>
/// <param name="RequestsPerSecond">Requests per second the provider allows over time, when its headers tell.</param>
/// <param name="TokensPerMinute">Tokens per minute, when its headers tell.</param>
/// <param name="Source">Which headers, and how the rates were read from them (for logs and the demo's table).</param>
internal sealed record AdvertisedLimits(double? RequestsPerSecond, double? TokensPerMinute, string Source);
