namespace ActorThrottle.Throttling;

/// <summary>
/// The bounded, laned queue in front of a model's throttle. Thread-safe. Lower lane numbers leave first;
/// within a lane, first in, first out.
/// </summary>
internal interface IWorkQueue<T> where T : class
{
    int Count { get; }

    int Capacity { get; }

    /// <summary>Adds <paramref name="item"/> to <paramref name="lane"/>; false when the queue is full or closed.</summary>
    bool TryEnqueue(T item, int lane);

    /// <summary>Removes a queued item; false when it already left the queue.</summary>
    bool TryRemove(T item);

    /// <summary>Empties the queue and returns what it held, in release order.</summary>
    IReadOnlyList<T> DrainAll();
}
