using System.Collections.Concurrent;
using ActorThrottle.Messages;
using Akka.Actor;

namespace ActorThrottle.Tests.Support;

/// <summary>An actor that counts every reply per request id, to prove exactly-once answers.</summary>
public sealed class ReplyCollector : ReceiveActor
{
    public ReplyCollector(ConcurrentDictionary<string, ConcurrentQueue<ChatReply>> replies)
    {
        Receive<ChatReply>(r => replies.GetOrAdd(r.RequestId, _ => new ConcurrentQueue<ChatReply>()).Enqueue(r));
    }

    public static (IActorRef Ref, ConcurrentDictionary<string, ConcurrentQueue<ChatReply>> Replies) Start(IActorRefFactory system)
    {
        var replies = new ConcurrentDictionary<string, ConcurrentQueue<ChatReply>>();
        return (system.ActorOf(Props.Create(() => new ReplyCollector(replies))), replies);
    }
}
