namespace ActorThrottle.Demo;

/// <summary>The demo's exit codes (also listed in the usage text).</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int Unexpected = 1;
    public const int BadArguments = 2;
    public const int BadConfiguration = 3;
    public const int Unreachable = 4;
    public const int Unanswered = 5;
}
