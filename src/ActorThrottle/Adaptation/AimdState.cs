namespace ActorThrottle.Adaptation;

/// <summary>The throttle settings AIMD has chosen: the burst window and the rate (requests/s).</summary>
public readonly record struct AimdState(int Burst, double Rate);
