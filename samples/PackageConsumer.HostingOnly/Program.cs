// The smallest app a user writes with ActorThrottle.Hosting alone: an ASP.NET Core minimal API with the throttle in
// its host, the typed client injected, the settings read back from the running actor system. No request leaves the process (there is no provider
// here); the point is what the package graph brings and that it builds with no warning. Prints "HOSTING-ONLY OK".
using ActorThrottle;
using ActorThrottle.Configuration;
using ActorThrottle.Hosting;
using Akka.Actor;
using Akka.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddAkka("hosting-only", akka => akka
    .AddHocon("akka.loglevel = WARNING", HoconAddMode.Prepend)
    .WithActorThrottle(o =>
    {
        o.Endpoint = "http://127.0.0.1:9/v1";
        o.ApiKey = "sk-unused";
        o.Model("gpt-4o-mini", m => m.RequestsPerSecond = 50);
    }));
builder.Services.AddActorThrottleClient();

await using var app = builder.Build();
app.Urls.Add("http://127.0.0.1:0");
app.MapGet("/status/{model}", (string model, ActorThrottleClient client) => client.GetStatusAsync(model));
await app.StartAsync();
try
{
    // The router answers (the model is created on first use, so its status is still empty) ...
    var status = await app.Services.GetRequiredService<ActorThrottleClient>().GetStatusAsync("gpt-4o-mini");
    // ... and the running system holds the options given above.
    var settings = ActorThrottleSettings.FromConfig(app.Services.GetRequiredService<ActorSystem>().Settings.Config);
    var rate = settings.ConfiguredModels["gpt-4o-mini"].RequestsPerSecond;
    Console.WriteLine($"{status.Model}: pending {status.Pending}, configured rate {rate}/s");
    var ok = status.Model == "gpt-4o-mini" && rate == 50;
    Console.WriteLine(ok ? "HOSTING-ONLY OK" : "HOSTING-ONLY FAILED");
    return ok ? 0 : 1;
}
finally
{
    await app.StopAsync();
}
