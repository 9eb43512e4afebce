namespace ActorThrottle.Configuration;

/// <summary>
/// One deployment of a model (<c>models."id".deployments[i]</c>): another endpoint, key or provider account serving the
/// same model. Each keeps its own throttle and learned limit; the model's requests go to the deployment that can send
/// them soonest.
/// </summary>
/// <param name="Name">Its name (<c>name</c>, default its index): what <c>ChatSuccess.Deployment</c> and the status report.</param>
/// <param name="Index">Its position in the list.</param>
/// <param name="Weight">
/// <c>weight</c> (default 1): among deployments of the same priority that are equally ready, how much of the work each
/// takes relative to the others; the learned rate already shares load by capacity, so weights only tilt it.
/// </param>
/// <param name="Priority">
/// <c>priority</c> (default 0, lower first): a deployment of a higher number gets work only while every deployment of a
/// lower number is cooled down or has no room (a cheaper account first, a spare one after).
/// </param>
/// <param name="Settings">
/// The deployment's own settings: its block merged over the model's and the defaults; <c>ModelId</c> is
/// <c>id@name</c> (what its logs and metrics carry) and <c>ProviderModel</c> the name sent to the provider.
/// </param>
public sealed record DeploymentSettings(string Name, int Index, double Weight, int Priority, ModelSettings Settings);
