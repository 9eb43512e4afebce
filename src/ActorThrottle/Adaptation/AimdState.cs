namespace ActorThrottle.Adaptation;

/// <summary>The throttle settings AIMD has chosen: the burst window and the rate (requests/s).</summary>
internal readonly record struct AimdState(int Burst, double Rate);
