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
