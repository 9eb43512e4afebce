using System.Net;
using ActorThrottle.Configuration;

namespace ActorThrottle.Backend;

/// <summary>
/// Creates <see cref="OpenAIChatBackend"/>s that share one <see cref="HttpClient"/> with a bounded connection
/// pool per server (the SDK's default transport opens one connection per concurrent call), following no redirects.
/// </summary>
public sealed class OpenAIChatBackendFactory : IChatBackendFactory, IDisposable
{
    private readonly HttpClient _http;
    private readonly TimeProvider _time;

    /// <param name="maxConnectionsPerServer">Connections kept to one host; default 256.</param>
    public OpenAIChatBackendFactory(int maxConnectionsPerServer = 256, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConnectionsPerServer, 1);
        _time = time ?? TimeProvider.System;
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = maxConnectionsPerServer,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            AutomaticDecompression = DecompressionMethods.All,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            // A redirect could carry the request (and, with a handler that keeps it, the key) to another host: the
            // backend answers a 3xx as a Permanent failure naming where it pointed instead.
            AllowAutoRedirect = false,
        };
        // Timeouts are per attempt, in the backend.
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    public IChatBackend Create(ModelSettings settings) => new OpenAIChatBackend(settings, _http, _time);

    public void Dispose() => _http.Dispose();
}
