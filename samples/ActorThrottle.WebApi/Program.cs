using ActorThrottle.WebApi;

// Everything is in ChatApi.Create, so the tests start the same app on a loopback port.
var app = await ChatApi.CreateAsync(args);
await app.RunAsync();
