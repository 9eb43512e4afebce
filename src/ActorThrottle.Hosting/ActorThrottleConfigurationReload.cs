using ActorThrottle.Configuration;
using ActorThrottle.Limits;
using ActorThrottle.Routing;
using Akka.Actor;
using Microsoft.Extensions.Options;

namespace ActorThrottle.Hosting;

/// <summary>
/// Watches the configuration section ActorThrottle was bound from (<c>WithActorThrottle(IConfigurationSection)</c>)
/// through an <see cref="IOptionsMonitor{TOptions}"/> and applies changed limits to running models through the same
/// path as <see cref="ActorThrottleClient.SetLimitsAsync(string, ModelLimits, TimeSpan?)"/>; for a model that lists
/// <c>deployments</c>, the changed limits of each deployment (<c>Deployments:N</c>, matched by name) go to that deployment
/// (<see cref="ActorThrottleClient.SetLimitsAsync(string, string, ModelLimits, TimeSpan?)"/>). A change that does not
/// validate is logged as an error naming the key's configuration path and HOCON path, and nothing of it is applied (the
/// old limits stay). A change to a key
/// that cannot change live (endpoint, key, retry, adapt, …) is logged as a warning: it applies after a restart. A key
/// removed from the section keeps its value until a restart (the section is read over the configuration the system
/// started with). Reloads are applied one at a time, in order.
/// </summary>
internal sealed class ActorThrottleConfigurationReload : IDisposable
{
    private readonly ActorThrottleOptions _options;
    private readonly Akka.Configuration.Config _started;
    private readonly IActorRef _router;
    private readonly ActorThrottleClient _client;
    private readonly Serilog.ILogger _log;
    private readonly string _sectionPath;
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);
    private readonly IDisposable? _subscription;
    private ActorThrottleSettings _current;
    // Per model (per deployment: its id, model@name), the settings its limits were last brought to by a reload, when that differs from the configuration
    // before the current one: a model that rejected a reload keeps its old baseline, so the next reload sends it every
    // change since, not only the newest.
    private readonly Dictionary<string, ModelSettings> _applied = new(StringComparer.Ordinal);

    /// <summary>The options factory of the monitor: the section read again, under what was set in code.</summary>
    private sealed class Reread(ActorThrottleOptions options) : IOptionsFactory<ActorThrottleOptions>
    {
        public ActorThrottleOptions Create(string name) => options.WithSectionReread();
    }

    public ActorThrottleConfigurationReload(ActorThrottleOptions options, ActorSystem system, IActorRef router, ActorThrottleSettings started, Serilog.ILogger log)
    {
        _options = options;
        _started = system.Settings.Config;
        _router = router;
        _client = new ActorThrottleClient(router);
        _current = started;
        _log = log.ForContext<ActorThrottleConfigurationReload>();
        _sectionPath = options.ConfigurationSectionPath!;
        Monitor = new OptionsMonitor<ActorThrottleOptions>(
            new Reread(options),
            [new ConfigurationChangeTokenSource<ActorThrottleOptions>(Options.DefaultName, options.ConfigurationSection!)],
            new OptionsCache<ActorThrottleOptions>());
        _subscription = Monitor.OnChange(changed => _ = ApplyAsync(changed));
    }

    /// <summary>The monitor over the bound section (its <c>CurrentValue</c> is the options as last read).</summary>
    public IOptionsMonitor<ActorThrottleOptions> Monitor { get; }

    /// <summary>The last reload applied (or rejected); for tests and callers who want to wait for one.</summary>
    public Task LastReload { get; private set; } = Task.CompletedTask;

    private Task ApplyAsync(ActorThrottleOptions changed)
    {
        var task = ApplyOneAtATimeAsync(changed);
        LastReload = task;
        return task;
    }

    private async Task ApplyOneAtATimeAsync(ActorThrottleOptions changed)
    {
        await _oneAtATime.WaitAsync().ConfigureAwait(false);
        try
        {
            await ApplyCoreAsync(changed).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // A reload runs on the configuration's change callback: nothing up there could handle it.
            _log.Error(e, "Applying the reloaded configuration section {Section} failed; the limits in force stay", _sectionPath);
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    private async Task ApplyCoreAsync(ActorThrottleOptions changed)
    {
        ActorThrottleSettings next;
        try
        {
            next = ActorThrottleSettings.FromConfig(changed.ToConfig().WithFallback(_started));
        }
        catch (ActorThrottleConfigurationException e)
        {
            var named = ActorThrottleConfigurationBinder.WithConfigurationPath(e, changed.ConfigurationPaths ?? new Dictionary<string, string>(), _sectionPath);
            _log.Error("Configuration reload of {Section} rejected, the limits in force stay: {Error}", _sectionPath, named.Message);
            return;
        }
        var previous = _current;
        _current = next;
        var running = await _router.Ask<RunningModels>(new ReplaceSettings(next), TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        // Local mode: the models running here. Cluster mode: the configured ones (their entities live anywhere).
        var models = running.Cluster ? previous.ConfiguredModels.Keys.Union(next.ConfiguredModels.Keys, StringComparer.Ordinal) : running.Models;
        foreach (var model in models)
        {
            if (previous.ForModel(model) is not { } configuredBefore)
            {
                continue;
            }
            if (next.ForModel(model) is not { } after)
            {
                _log.Warning("Model {Model} is no longer configured; it keeps running with its limits until a restart", model);
                continue;
            }
            if (NotLive(configuredBefore, after) is { Count: > 0 } keys)
            {
                _log.Warning("Configuration reload: {Keys} of model {Model} changed; these apply after a restart", string.Join(", ", keys), model);
            }
            if (configuredBefore.Deployments.Count > 0 || after.Deployments.Count > 0)
            {
                await ApplyToDeploymentsAsync(model, configuredBefore, after, next, changed).ConfigureAwait(false);
                continue;
            }
            await ApplyAsync(model, null, configuredBefore, after, HoconPath(next, model, ""), changed).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A model with deployments: each deployment present before and after (by name) gets its changed limits; a
    /// deployment added, removed or renamed, or the list's order, weights or priorities changed, applies after a restart.
    /// </summary>
    private async Task ApplyToDeploymentsAsync(string model, ModelSettings configuredBefore, ModelSettings after, ActorThrottleSettings next, ActorThrottleOptions changed)
    {
        var shape = (IEnumerable<DeploymentSettings> list) => list.Select(d => (d.Name, d.Index, d.Weight, d.Priority));
        if (!shape(configuredBefore.Deployments).SequenceEqual(shape(after.Deployments)))
        {
            _log.Warning("Configuration reload: the deployments of model {Model} (names, order, weight, priority) changed; the list applies after a restart", model);
        }
        foreach (var deployment in after.Deployments)
        {
            if (configuredBefore.Deployments.FirstOrDefault(d => d.Name == deployment.Name) is not { } old)
            {
                continue;
            }
            if (NotLive(old.Settings, deployment.Settings) is { Count: > 0 } keys)
            {
                _log.Warning("Configuration reload: {Keys} of deployment {Deployment} of model {Model} changed; these apply after a restart",
                    string.Join(", ", keys), deployment.Name, model);
            }
            var prefix = $"{ActorThrottleSettings.RootPath}.models.{ActorThrottleSettings.QuoteKey(model)}.deployments[{deployment.Index.ToString(System.Globalization.CultureInfo.InvariantCulture)}].";
            await ApplyAsync(model, deployment.Name, old.Settings, deployment.Settings, prefix, changed).ConfigureAwait(false);
        }
    }

    /// <summary>Sends the limits that differ between <paramref name="configuredBefore"/> and <paramref name="after"/> (or since the last rejected reload).</summary>
    /// <param name="hoconPrefix">The HOCON path a rejected key is named under (ends with a dot).</param>
    private async Task ApplyAsync(string model, string? deployment, ModelSettings configuredBefore, ModelSettings after, string hoconPrefix, ActorThrottleOptions changed)
    {
        var key = deployment is null ? model : $"{model}@{deployment}";
        var before = _applied.GetValueOrDefault(key) ?? configuredBefore;
        if (ModelLimits.Between(before, after) is not { } limits)
        {
            _applied.Remove(key);
            return;
        }
        if (deployment is not null && limits.QueueSize is not null)
        {
            // queue-size belongs to the model (its balancer's queue), whose own queue cannot change live with deployments.
            _log.Warning("Configuration reload: queue-size of model {Model} changed; with deployments it applies after a restart", model);
            limits = limits with { QueueSize = null };
            if (limits.IsEmpty)
            {
                _applied.Remove(key);
                return;
            }
        }
        try
        {
            var status = deployment is null
                ? await _client.SetLimitsAsync(model, limits, TimeSpan.FromSeconds(10)).ConfigureAwait(false)
                : await _client.SetLimitsAsync(model, deployment, limits, TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            _applied.Remove(key);
            _log.Information("Configuration reload: limits of {Model} now {Limits}", key, status.Limits);
        }
        catch (ArgumentException e)
        {
            _applied[key] = before;
            var hoconPath = hoconPrefix + (e.ParamName ?? "");
            var configurationPath = ActorThrottleConfigurationBinder.ConfigurationPathOf(hoconPath, changed.ConfigurationPaths ?? new Dictionary<string, string>(), _sectionPath);
            _log.Error("Configuration reload: limits of {Model} at '{ConfigurationPath}' (HOCON '{HoconPath}') rejected, the limits in force stay: {Error}",
                key, configurationPath, hoconPath, e.Message);
        }
    }

    /// <summary>Where a model's key is set: its own block when it is configured, else <c>defaults</c> (<paramref name="key"/> empty: the prefix, ending with a dot).</summary>
    private static string HoconPath(ActorThrottleSettings settings, string model, string key) =>
        settings.ConfiguredModels.ContainsKey(model)
            ? $"{ActorThrottleSettings.RootPath}.models.{ActorThrottleSettings.QuoteKey(model)}.{key}"
            : $"{ActorThrottleSettings.RootPath}.defaults.{key}";

    /// <summary>The keys that differ between two settings of a model and cannot change while it runs.</summary>
    internal static List<string> NotLive(ModelSettings before, ModelSettings after)
    {
        var keys = new List<string>();
        void Check(string key, bool same)
        {
            if (!same)
            {
                keys.Add(key);
            }
        }
        Check("endpoint/api-key", before.Route == after.Route);
        Check("request-timeout", before.RequestTimeout == after.RequestTimeout);
        Check("tokens-burst", before.TokensBurst == after.TokensBurst);
        Check("token-accounting", before.TokenAccounting == after.TokenAccounting);
        Check("default-max-tokens", before.DefaultMaxTokens == after.DefaultMaxTokens);
        Check("max-context-tokens", before.MaxContextTokens == after.MaxContextTokens);
        Check("fallbacks", before.Fallbacks.SequenceEqual(after.Fallbacks));
        Check("provider-model", before.ProviderModel == after.ProviderModel);
        Check("batch-share", before.BatchShare.Equals(after.BatchShare));
        Check("stream-usage", before.StreamUsage == after.StreamUsage);
        Check("retry", before.Retry == after.Retry);
        Check("adapt", before.Adapt == after.Adapt);
        Check("deployment-cool-down", before.DeploymentCoolDown == after.DeploymentCoolDown);
        return keys;
    }

    public void Dispose()
    {
        _subscription?.Dispose();
        _oneAtATime.Dispose();
    }
}
