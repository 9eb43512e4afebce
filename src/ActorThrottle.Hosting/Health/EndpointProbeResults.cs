using System.Collections.Concurrent;

namespace ActorThrottle.Hosting.Health;

/// <summary>What the start-up probe found, by endpoint: null when reachable (or not probed), else why not.</summary>
internal sealed class EndpointProbeResults
{
    private readonly ConcurrentDictionary<Uri, string> _failures = new();

    public void Record(Uri endpoint, string? failure)
    {
        if (failure is null)
        {
            _failures.TryRemove(endpoint, out _);
        }
        else
        {
            _failures[endpoint] = failure;
        }
    }

    public string? FailureFor(Uri endpoint) => _failures.TryGetValue(endpoint, out var failure) ? failure : null;
}
