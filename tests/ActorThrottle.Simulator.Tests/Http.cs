using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace ActorThrottle.Simulator.Tests;

/// <summary>Small helpers for talking to a started simulator.</summary>
internal static class Http
{
    public static HttpClient Client(SimulatedProvider provider, TimeSpan? timeout = null, string? apiKey = null)
    {
        var client = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(1) })
        {
            BaseAddress = provider.BaseUrl,
            Timeout = timeout ?? TimeSpan.FromSeconds(10),
        };
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        return client;
    }

    public static Task<HttpResponseMessage> ChatAsync(this HttpClient client, string model, string content = "Hello there!", int? maxTokens = null, CancellationToken cancellationToken = default)
    {
        var body = maxTokens is null
            ? JsonSerializer.Serialize(new { model, messages = new[] { new { role = "user", content } } })
            : JsonSerializer.Serialize(new { model, messages = new[] { new { role = "user", content } }, max_tokens = maxTokens });
        return client.PostAsync("v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"), cancellationToken);
    }

    /// <summary>A <c>"stream": true</c> request whose response is returned as soon as its headers arrive.</summary>
    public static Task<HttpResponseMessage> StreamAsync(this HttpClient client, string model, int? maxTokens = null, bool? includeUsage = null, CancellationToken cancellationToken = default)
    {
        var body = new Dictionary<string, object>
        {
            ["model"] = model,
            ["messages"] = new[] { new { role = "user", content = "Hello there!" } },
            ["stream"] = true,
        };
        if (maxTokens is not null)
        {
            body["max_tokens"] = maxTokens;
        }

        if (includeUsage is not null)
        {
            body["stream_options"] = new { include_usage = includeUsage };
        }

        var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
        return client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
    }

    /// <summary>
    /// The <c>data:</c> payloads of a server-sent event stream, in order, into <paramref name="events"/> (so a caller
    /// still has what arrived when the stream breaks). Every event must be one data line followed by a blank line.
    /// </summary>
    public static async Task ReadEventsAsync(this HttpResponseMessage response, List<string> events)
    {
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        while (await reader.ReadLineAsync() is { } line)
        {
            Assert.StartsWith("data: ", line);
            events.Add(line["data: ".Length..]);
            Assert.Equal(string.Empty, await reader.ReadLineAsync());
        }
    }

    public static async Task<JsonElement> JsonAsync(this HttpResponseMessage response)
    {
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    public static string? Header(this HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;

    public static SimulatorOptions OneModel(string model, ModelSettings settings) =>
        new() { Models = new Dictionary<string, ModelSettings> { [model] = settings } };
}
