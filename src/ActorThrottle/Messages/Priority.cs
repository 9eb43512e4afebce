namespace ActorThrottle.Messages;

/// <summary>The lane a request waits in. Interactive requests are released before batch requests of the same model.</summary>
public enum Priority
{
    Interactive = 0,
    Batch = 1,
}
