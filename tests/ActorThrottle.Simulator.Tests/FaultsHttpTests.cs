using System.Diagnostics;
using System.Net;

namespace ActorThrottle.Simulator.Tests;

[Collection(ServerCollection.Name)]
public sealed class FaultsHttpTests
{
    [Fact]
    public async Task A_seeded_fraction_of_requests_fail_with_5xx_and_an_error_body()
    {
        async Task<List<HttpStatusCode>> RunAsync()
        {
            await using var provider = await SimulatedProvider.StartNewAsync(Http.OneModel("m", new ModelSettings
            {
                Error500Rate = 0.1,
                Error502Rate = 0.1,
                Error503Rate = 0.1,
                Seed = 11,
            }));
            using var client = Http.Client(provider);
            var codes = new List<HttpStatusCode>();
            for (var i = 0; i < 200; i++)
            {
                using var response = await client.ChatAsync("m");
                codes.Add(response.StatusCode);
                if ((int)response.StatusCode >= 500)
                {
                    Assert.Equal("server_error", (await response.JsonAsync()).GetProperty("error").GetProperty("type").GetString());
                }
            }

            var totals = provider.GetStats().For("m").Totals;
            Assert.Equal(codes.Count(c => (int)c >= 500), totals.ServerErrors);
            Assert.Equal(codes.Count(c => c == HttpStatusCode.OK), totals.Accepted);
            return codes;
        }

        var first = await RunAsync();
        Assert.Equal(first, await RunAsync());
        Assert.InRange(first.Count(c => (int)c >= 500), 40, 80);
        Assert.Contains(HttpStatusCode.InternalServerError, first);
        Assert.Contains(HttpStatusCode.BadGateway, first);
        Assert.Contains(HttpStatusCode.ServiceUnavailable, first);
    }

    [Fact]
    public async Task A_reset_aborts_the_connection()
    {
        await using var provider = await SimulatedProvider.StartNewAsync(Http.OneModel("m", new ModelSettings { ResetRate = 1 }));
        using var client = Http.Client(provider);
        await Assert.ThrowsAsync<HttpRequestException>(() => client.ChatAsync("m"));
        Assert.Equal(1, provider.GetStats().For("m").Totals.Resets);
    }

    [Fact]
    public async Task A_hang_outlasts_the_client_timeout_and_stop_ends_it()
    {
        await using var provider = await SimulatedProvider.StartNewAsync(Http.OneModel("m", new ModelSettings { HangRate = 1, HangDuration = TimeSpan.FromMinutes(10) }));
        using var client = Http.Client(provider, timeout: TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAsync<TaskCanceledException>(() => client.ChatAsync("m"));
        Assert.Equal(1, provider.GetStats().For("m").Totals.Hangs);

        // A hang whose client stays must not hold up a stop.
        using var patient = Http.Client(provider, timeout: TimeSpan.FromMinutes(5));
        var pending = patient.ChatAsync("m");
        while (provider.GetStats().For("m").Totals.Hangs < 2)
        {
            await Task.Delay(10);
        }

        var watch = Stopwatch.StartNew();
        await provider.StopAsync();
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30));
        await Assert.ThrowsAnyAsync<Exception>(() => pending);
    }

    [Fact]
    public async Task Latency_is_applied_after_admission()
    {
        await using var provider = await SimulatedProvider.StartNewAsync(Http.OneModel("m", new ModelSettings { Latency = TimeSpan.FromMilliseconds(150) }));
        using var client = Http.Client(provider);
        (await client.ChatAsync("m")).Dispose();
        var watch = Stopwatch.StartNew();
        using var response = await client.ChatAsync("m");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        // Only a lower bound: a busy machine may add, never subtract.
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(140), watch.Elapsed.ToString());
    }
}
