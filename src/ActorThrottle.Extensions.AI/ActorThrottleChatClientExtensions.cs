using ActorThrottle;
using ActorThrottle.Extensions.AI;
using Microsoft.Extensions.AI;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="ActorThrottleChatClient"/> in MEAI's builder style.</summary>
public static class ActorThrottleChatClientServiceCollectionExtensions
{
    /// <summary>
    /// Registers an <see cref="IChatClient"/> over the application's <see cref="ActorThrottleClient"/> (register that one with
    /// <c>services.AddActorThrottleClient()</c> from ActorThrottle.Hosting, or yourself) and returns MEAI's
    /// <see cref="ChatClientBuilder"/>, so middleware can be added: <c>.UseFunctionInvocation().UseOpenTelemetry()</c>.
    /// Equivalent to <c>services.AddChatClient(sp =&gt; new ActorThrottleChatClient(sp.GetRequiredService&lt;ActorThrottleClient&gt;(), defaultModelId))</c>.
    /// </summary>
    /// <param name="defaultModelId">The model used when <see cref="ChatOptions.ModelId"/> is not set.</param>
    public static ChatClientBuilder AddActorThrottleChatClient(this IServiceCollection services, string? defaultModelId = null,
        ServiceLifetime lifetime = ServiceLifetime.Singleton)
    {
        ArgumentNullException.ThrowIfNull(services);
        return services.AddChatClient(sp => Create(sp, defaultModelId), lifetime);
    }

    /// <summary>As <see cref="AddActorThrottleChatClient"/>, registered under <paramref name="serviceKey"/> (e.g. one key per model).</summary>
    public static ChatClientBuilder AddKeyedActorThrottleChatClient(this IServiceCollection services, object? serviceKey, string? defaultModelId = null,
        ServiceLifetime lifetime = ServiceLifetime.Singleton)
    {
        ArgumentNullException.ThrowIfNull(services);
        return services.AddKeyedChatClient(serviceKey, sp => Create(sp, defaultModelId), lifetime);
    }

    /// <summary>Wraps <paramref name="client"/> as an <see cref="IChatClient"/> (like MEAI's <c>AsIChatClient()</c> for other SDKs).</summary>
    public static IChatClient AsIChatClient(this ActorThrottleClient client, string? defaultModelId = null) =>
        new ActorThrottleChatClient(client, defaultModelId);

    private static ActorThrottleChatClient Create(IServiceProvider services, string? defaultModelId)
    {
        var client = services.GetService<ActorThrottleClient>() ?? throw new InvalidOperationException(
            "ActorThrottleChatClient needs an ActorThrottleClient in the container: call services.AddActorThrottleClient() " +
            "(ActorThrottle.Hosting, next to AddAkka(... WithActorThrottle(...))) or register one yourself.");
        return new ActorThrottleChatClient(client, defaultModelId, timeProvider: services.GetService<TimeProvider>());
    }
}
