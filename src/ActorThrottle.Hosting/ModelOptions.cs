namespace ActorThrottle.Hosting;

/// <summary>
/// Code-first settings of one model (or of <c>defaults</c>). Each property maps to the HOCON key named in its
/// summary; null leaves the HOCON value (and ultimately the reference default) in place.
/// </summary>
public sealed class ModelOptions
{
    /// <summary><c>requests-per-second</c>: an upper bound the engine never exceeds.</summary>
    public double? RequestsPerSecond { get; set; }

    /// <summary>True writes <c>requests-per-second = auto</c> (seeded from headers, probed upward; wins over <see cref="RequestsPerSecond"/>).</summary>
    public bool? AutoRequestsPerSecond { get; set; }

    /// <summary><c>tokens-per-minute</c> (0: no token limit).</summary>
    public long? TokensPerMinute { get; set; }

    /// <summary>True writes <c>tokens-per-minute = auto</c> (a token limit only once the provider advertises one; wins over <see cref="TokensPerMinute"/>).</summary>
    public bool? AutoTokensPerMinute { get; set; }

    /// <summary><c>tokens-burst</c>: the token bucket's capacity (0: one second of tokens-per-minute).</summary>
    public long? TokensBurst { get; set; }

    /// <summary><c>max-burst</c>.</summary>
    public int? MaxBurst { get; set; }

    /// <summary><c>min-burst</c>.</summary>
    public int? MinBurst { get; set; }

    /// <summary><c>max-in-flight</c>.</summary>
    public int? MaxInFlight { get; set; }

    /// <summary><c>queue-size</c>.</summary>
    public int? QueueSize { get; set; }

    /// <summary><c>default-max-tokens</c>.</summary>
    public int? DefaultMaxTokens { get; set; }

    /// <summary><c>retry.max-attempts</c>.</summary>
    public int? MaxAttempts { get; set; }

    /// <summary><c>endpoint</c>: this model's own base URL.</summary>
    public string? Endpoint { get; set; }

    /// <summary><c>api-key</c>: this model's own key, sent only to this model's endpoint (in <see cref="ActorThrottleOptions.Defaults"/>: to the defaults' endpoint).</summary>
    public string? ApiKey { get; set; }

    /// <summary><c>api-key-env</c>: the name of the environment variable holding this model's key (e.g. <c>VLLM_KEY</c>); set this or <see cref="ApiKey"/>.</summary>
    public string? ApiKeyEnv { get; set; }

    /// <summary><c>allow-unauthenticated</c>: this model's endpoint is a local server without keys (vLLM, Ollama); without a key it is called with no Authorization header instead of failing the start.</summary>
    public bool? AllowUnauthenticated { get; set; }
}
