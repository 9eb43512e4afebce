using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ActorThrottle.Simulator;

/// <summary>
/// A rate-limited, OpenAI-compatible chat-completion provider on Kestrel, bound to loopback.
/// Start it, point a client at <see cref="ApiBaseUrl"/>, change model settings while it runs, and
/// read what it accepted and rejected from <see cref="GetStats"/>. Thread-safe.
/// </summary>
public sealed class SimulatedProvider : IAsyncDisposable
{
    /// <summary>
    /// The socket transport's send buffer (its default, pinned here): a flush waits once this much is unsent,
    /// which <see cref="CompletionChunkWriter.WriteBreakPaddingAsync"/> relies on.
    /// </summary>
    internal const int SendBufferBytes = 64 * 1024;

    private readonly ConcurrentDictionary<string, ModelRuntime> _models = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private readonly TimeProvider _time;
    private readonly long _epochTimestamp;
    private readonly DateTimeOffset _epochUtc;
    private WebApplication? _app;
    private CancellationTokenSource? _runCts;
    private int _port;

    /// <summary>Creates a stopped provider; the statistics epoch (second 0) is now.</summary>
    /// <param name="options">Start-up options; null = defaults (port 0, no key, unlimited default model).</param>
    /// <exception cref="ArgumentException">An option or model setting is invalid (the message names it).</exception>
    public SimulatedProvider(SimulatorOptions? options = null)
    {
        Options = options ?? new SimulatorOptions();
        Options.Validate();
        _time = Options.TimeProvider ?? TimeProvider.System;
        _epochTimestamp = _time.GetTimestamp();
        _epochUtc = _time.GetUtcNow();
        _port = Options.Port;
        foreach (var (id, settings) in Options.Models)
        {
            _models[id] = NewRuntime(id, settings);
        }
    }

    /// <summary>The options it was created with.</summary>
    public SimulatorOptions Options { get; }

    /// <summary>Whether the server is listening.</summary>
    public bool IsRunning => _app is not null;

    /// <summary>The port: the configured one, or the one picked at the first start (0 before that).</summary>
    public int Port => Volatile.Read(ref _port);

    /// <summary>The root URL, e.g. <c>http://127.0.0.1:5123/</c>.</summary>
    /// <exception cref="InvalidOperationException">Port 0 and never started.</exception>
    public Uri BaseUrl => Port != 0 ? new Uri($"http://127.0.0.1:{Port}/") : throw new InvalidOperationException("The simulator has not been started yet, so it has no port.");

    /// <summary>The OpenAI-style base URL with <c>/v1</c>, e.g. <c>http://127.0.0.1:5123/v1</c> (the SDK's <c>Endpoint</c>).</summary>
    public Uri ApiBaseUrl => new(BaseUrl, "v1");

    /// <summary>Ids of the models that have settings (configured, set while running, or served with defaults so far).</summary>
    public IReadOnlyList<string> KnownModels => _models.Keys.Order(StringComparer.Ordinal).ToList();

    /// <summary>Creates and starts a provider.</summary>
    /// <param name="options">Start-up options.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public static async Task<SimulatedProvider> StartNewAsync(SimulatorOptions? options = null, CancellationToken cancellationToken = default)
    {
        var provider = new SimulatedProvider(options);
        await provider.StartAsync(cancellationToken);
        return provider;
    }

    /// <summary>Starts listening on 127.0.0.1 (on the same port as before after a stop). Does nothing if running.</summary>
    /// <param name="cancellationToken">Cancels the start.</param>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken);
        try
        {
            if (_app is not null)
            {
                return;
            }

            // Loading the tokenizer takes about a second once per process; pay it before serving, not in a request.
            await Task.Run(PromptTokenCounter.Warm, cancellationToken);
            var runCts = new CancellationTokenSource();
            var app = Build(Port, runCts.Token);
            try
            {
                await app.StartAsync(cancellationToken);
            }
            catch
            {
                await app.DisposeAsync();
                runCts.Dispose();
                throw;
            }

            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            Volatile.Write(ref _port, new Uri(address).Port);
            _app = app;
            _runCts = runCts;
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Stops listening; latency waits and hangs end at once (their connections are aborted). Statistics and settings are kept.</summary>
    /// <param name="cancellationToken">Cuts the graceful part of the stop short.</param>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(CancellationToken.None);
        try
        {
            if (_app is not { } app)
            {
                return;
            }

            _app = null;
            await _runCts!.CancelAsync();
            try
            {
                await app.StopAsync(cancellationToken);
            }
            finally
            {
                await app.DisposeAsync();
                _runCts.Dispose();
                _runCts = null;
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>The settings a request for <paramref name="model"/> would get now.</summary>
    /// <param name="model">The model id.</param>
    public ModelSettings GetModelSettings(string model)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        return _models.TryGetValue(model, out var runtime) ? runtime.Settings : Options.DefaultModel;
    }

    /// <summary>
    /// Sets a model's settings, taking effect for the next request even while running. Bucket levels are
    /// kept (clamped to a lower burst), so lowering a limit behaves like a provider doing it mid-run.
    /// </summary>
    /// <param name="model">The model id.</param>
    /// <param name="settings">The new settings.</param>
    /// <exception cref="ArgumentException">A setting is invalid (the message names it).</exception>
    public void SetModelSettings(string model, ModelSettings settings)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        var created = false;
        var runtime = _models.GetOrAdd(model, id =>
        {
            created = true;
            return NewRuntime(id, settings);
        });
        if (!created)
        {
            runtime.Update(settings);
        }
    }

    /// <summary>Changes a model's settings from its current ones, e.g. <c>s =&gt; s with { RequestsPerSecond = 5 }</c>.</summary>
    /// <param name="model">The model id.</param>
    /// <param name="update">Derives the new settings from the current ones.</param>
    /// <returns>The settings applied.</returns>
    public ModelSettings UpdateModelSettings(string model, Func<ModelSettings, ModelSettings> update)
    {
        ArgumentNullException.ThrowIfNull(update);
        var settings = update(GetModelSettings(model));
        SetModelSettings(model, settings);
        return settings;
    }

    /// <summary>A snapshot of the statistics of every model that has seen a request or has settings.</summary>
    public SimulatorStats GetStats()
    {
        var models = new SortedDictionary<string, ModelStats>(StringComparer.Ordinal);
        foreach (var (id, runtime) in _models)
        {
            models[id] = runtime.Snapshot(_epochUtc);
        }

        return new SimulatorStats(_epochUtc, _time.GetElapsedTime(_epochTimestamp), models);
    }

    /// <summary>
    /// The largest number of accepted (200) requests of <paramref name="model"/> that arrived within any window of
    /// length <paramref name="window"/>, exact over the last <see cref="SimulatorOptions.AcceptanceHistoryCapacity"/> acceptances.
    /// A limit of r per second with burst b holds when this is at most r·window + b.
    /// </summary>
    /// <param name="model">The model id.</param>
    /// <param name="window">The window length (&gt; 0).</param>
    public int MaxAcceptedInWindow(string model, TimeSpan window)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        return _models.TryGetValue(model, out var runtime) ? runtime.MaxAcceptedInWindow(window) : 0;
    }

    /// <summary>Clears all counters and acceptance history (the epoch stays).</summary>
    public void ResetStats()
    {
        foreach (var runtime in _models.Values)
        {
            runtime.ResetStats();
        }
    }

    /// <summary>Stops the server.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _lifecycle.Dispose();
    }

    /// <summary>The runtime serving <paramref name="model"/>, or null when unknown models are rejected.</summary>
    internal ModelRuntime? Resolve(string model)
    {
        if (_models.TryGetValue(model, out var runtime))
        {
            return runtime;
        }

        return Options.UnknownModels == UnknownModelPolicy.Reject ? null : _models.GetOrAdd(model, id => NewRuntime(id, Options.DefaultModel));
    }

    private ModelRuntime NewRuntime(string id, ModelSettings settings) =>
        new(id, settings, _time, _epochTimestamp, Options.AcceptanceHistoryCapacity);

    private WebApplication Build(int port, CancellationToken stopping)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(SimulatedProvider).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            Args = [],
        });
        if (!Options.EnableLogging)
        {
            builder.Logging.ClearProviders();
        }

        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = Options.ShutdownTimeout);
        builder.WebHost.UseSockets(sockets => sockets.MaxWriteBufferSize = SendBufferBytes);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(IPAddress.Loopback, port);
        });
        var app = builder.Build();
        new SimulatorEndpoints(this, _time, Options.ApiKey, stopping).Map(app);
        return app;
    }
}
