namespace ActorThrottle.Adaptation;

/// <summary>What a model's throttle is set to: its rate (requests/s), burst window, and token rate (tokens/min; 0 = no token limit).</summary>
internal readonly record struct ThrottleSettings(double Rate, int Burst, long TokensPerMinute);
