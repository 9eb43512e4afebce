namespace ActorThrottle.Adaptation;

/// <summary>How a model's current rate was found (the model status and the demo's end table show it).</summary>
internal enum RateOrigin
{
    /// <summary>The configured <c>requests-per-second</c> (AIMD may have lowered it on 429s; it never goes above).</summary>
    Configured,
    /// <summary>Seeded from a limit the provider advertised in its headers.</summary>
    SeededFromHeaders,
    /// <summary><c>requests-per-second = auto</c> with nothing advertised: found by slow start and probing.</summary>
    Probed,
}
