using ActorThrottle.Configuration;

namespace ActorThrottle.Backend;

/// <summary>Creates the backend a model's actor calls, from the model's settings (route, timeout).</summary>
public interface IChatBackendFactory
{
    IChatBackend Create(ModelSettings settings);
}
