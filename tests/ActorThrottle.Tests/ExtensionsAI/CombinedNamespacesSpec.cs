// This file is the README's "both namespaces in one file" example, kept compiling: ActorThrottle.Messages and
// Microsoft.Extensions.AI both define ChatMessage, and the two aliases below are what the README tells users to write.
using ActorThrottle.Extensions.AI;
using ActorThrottle.Hosting;
using ActorThrottle.Messages;
using ActorThrottle.Tests.Support;
using Akka.Hosting;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;
using AIChatMessage = Microsoft.Extensions.AI.ChatMessage;
using ChatMessage = ActorThrottle.Messages.ChatMessage;

namespace ActorThrottle.Tests.ExtensionsAI;

/// <summary>The README's example that uses ActorThrottle's messages and MEAI's side by side: it compiles and answers.</summary>
public sealed class CombinedNamespacesSpec
{
    // --- the README's example, verbatim from here ---
    public sealed class Summariser(IChatClient chat, ActorThrottleClient throttle)
    {
        public async Task<string?> SummariseAsync(string text, CancellationToken ct)
        {
            // Through Microsoft.Extensions.AI (its middleware, tools, OpenTelemetry) …
            var viaMeai = await chat.GetResponseAsync(
                [new AIChatMessage(ChatRole.System, "Be brief."), new AIChatMessage(ChatRole.User, text)], cancellationToken: ct);

            // … or with ActorThrottle's own messages: the typed reply says why a request failed.
            var reply = await throttle.CompleteAsync(
                new ChatRequest("gpt-4o-mini", [ChatMessage.System("Be brief."), ChatMessage.User(text)]), ct);
            return reply is ChatSuccess ok ? ok.Content : viaMeai.Text;
        }
    }
    // --- end of the README's example ---

    [Fact]
    public async Task A_file_using_both_ChatMessage_types_through_aliases_asks_through_both_paths()
    {
        var seen = new System.Collections.Concurrent.ConcurrentQueue<ChatRequest>();
        var backend = new ScriptedBackend((r, _) =>
        {
            seen.Enqueue(r);
            return ScriptedBackend.Success(r);
        });
        using var host = Host.CreateDefaultBuilder()
            .ConfigureServices(services =>
            {
                services.AddAkka("combined-namespaces-spec", akka => akka.WithActorThrottle(o =>
                {
                    o.Environment = new ThrottleEnvironment { BackendFactory = backend, Logger = new Serilog.LoggerConfiguration().CreateLogger() };
                    o.Model("gpt-4o-mini", m => m.RequestsPerSecond = 100);
                }));
                services.AddActorThrottleClient();
                services.AddActorThrottleChatClient("gpt-4o-mini");
                services.AddSingleton<Summariser>();
            })
            .Build();
        await host.StartAsync();
        try
        {
            var summary = await host.Services.GetRequiredService<Summariser>().SummariseAsync("A long text.", CancellationToken.None)
                .WaitAsync(TimeSpan.FromSeconds(20));
            Assert.StartsWith("ok", summary);
            Assert.Equal(2, seen.Count);
            Assert.All(seen, r => Assert.Equal(["system", "user"], r.Messages.Select(m => m.Role)));
        }
        finally
        {
            await host.StopAsync();
        }
    }
}
