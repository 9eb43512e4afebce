// Uses ActorThrottle the way an application would, from packages: a Generic Host with Akka.Hosting, the throttle
// pointed at the in-process simulator, and one question asked through Microsoft.Extensions.AI's IChatClient, then
// one streamed. Prints "CONSUMER OK" and exits 0 when both answers came back through the throttle.
using ActorThrottle;
using ActorThrottle.Configuration;
using ActorThrottle.Hosting;
using Sim = ActorThrottle.Simulator;
using Akka.Hosting;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

await using var sim = await Sim.SimulatedProvider.StartNewAsync(new Sim.SimulatorOptions
{
    ApiKey = "sk-consumer",
    DefaultModel = new Sim.ModelSettings { RequestsPerSecond = 100 },
});

using var host = Host.CreateDefaultBuilder(args)
    .ConfigureServices(services =>
    {
        services.AddAkka("package-consumer", akka => akka
            .AddHocon("akka.loglevel = WARNING", HoconAddMode.Prepend)
            .WithActorThrottle(o =>
            {
                o.Endpoint = sim.ApiBaseUrl.ToString();
                o.ApiKey = "sk-consumer";
                o.Model("gpt-4o-mini", m => m.RequestsPerSecond = 50);
            }));
        services.AddActorThrottleClient();
        services.AddActorThrottleChatClient("gpt-4o-mini").UseFunctionInvocation();
    })
    .Build();

await host.StartAsync();
try
{
    var chat = host.Services.GetRequiredService<IChatClient>();
    var response = await chat.GetResponseAsync("Say hello.", new ChatOptions { MaxOutputTokens = 16 })
        .WaitAsync(TimeSpan.FromSeconds(60));
    var updates = new List<ChatResponseUpdate>();
    await foreach (var update in chat.GetStreamingResponseAsync("Say hello again.", new ChatOptions { MaxOutputTokens = 8 }))
    {
        updates.Add(update);
    }
    var streamed = updates.ToChatResponse();
    var status = await host.Services.GetRequiredService<ActorThrottleClient>().GetStatusAsync("gpt-4o-mini");
    var version = typeof(ActorThrottleClient).Assembly
        .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
        .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion;
    var referenceKeys = ActorThrottleSettings.Reference.GetConfig("actor-throttle").AsEnumerable().Count();

    Console.WriteLine($"ActorThrottle {version}; reference.conf keys: {referenceKeys}");
    Console.WriteLine($"{response.ModelId}: {response.Text} (finish {response.FinishReason}, {response.Usage?.TotalTokenCount} tokens, rate {status.Rate}/s)");
    Console.WriteLine($"streamed in {updates.Count} updates: {streamed.Text} (finish {streamed.FinishReason}, {streamed.Usage?.OutputTokenCount} output tokens)");
    if (response.ModelId != "gpt-4o-mini" || response.Usage?.OutputTokenCount is not > 0 || referenceKeys == 0)
    {
        Console.Error.WriteLine("CONSUMER FAILED: unexpected answer");
        return 1;
    }
    if (updates.Count < 3 || streamed.Usage?.OutputTokenCount != 8 || streamed.FinishReason != ChatFinishReason.Length)
    {
        Console.Error.WriteLine("CONSUMER FAILED: the streamed answer did not arrive in chunks");
        return 1;
    }
    Console.WriteLine("CONSUMER OK");
    return 0;
}
finally
{
    await host.StopAsync();
}
