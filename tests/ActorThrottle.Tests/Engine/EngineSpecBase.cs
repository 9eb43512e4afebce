using ActorThrottle.Messages;
using ActorThrottle.Tests.Support;
using Serilog;
using Xunit;

namespace ActorThrottle.Tests.Engine;

/// <summary>An actor system with the engine over a scripted backend and fast test settings.</summary>
public abstract class EngineSpecBase : Akka.TestKit.Xunit2.TestKit
{
    protected EngineSpecBase(string akkaConfig = "") : base(akkaConfig + "\nakka.loglevel = WARNING")
    {
    }

    protected ActorThrottleEngine StartEngine(ActorThrottle.Backend.IChatBackendFactory backend, string overrides = "", ILogger? logger = null, TimeProvider? time = null) =>
        ActorThrottleEngine.Start(Sys, TestConfig.Settings(overrides), new ThrottleEnvironment
        {
            BackendFactory = backend,
            RandomFor = model => new Random(model.GetHashCode() ^ 42),
            Logger = logger ?? new LoggerConfiguration().CreateLogger(),
            Time = time ?? TimeProvider.System,
        });

    protected static ChatRequest Request(string model = "m", string id = "", string text = "hello") =>
        new(model, [ChatMessage.User(text)]) { RequestId = id.Length == 0 ? Guid.NewGuid().ToString("N") : id };

    protected async Task<T> Ask<T>(ActorThrottleEngine engine, ChatRequest request) where T : ChatReply =>
        Assert.IsType<T>(await engine.CompleteAsync(request).WaitAsync(TimeSpan.FromSeconds(20)));
}
