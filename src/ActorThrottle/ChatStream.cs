using System.Threading.Channels;
using ActorThrottle.Messages;
using Akka.Actor;

namespace ActorThrottle;

/// <summary>
/// A streamed completion as seen by the caller: enumerate it for the <see cref="ChatChunk"/>s as they arrive, then await
/// <see cref="Reply"/> for the one terminal <see cref="ChatReply"/> (a <see cref="ChatSuccess"/> carrying the whole text and
/// usage, or a <see cref="ChatFailure"/>). Enumeration ends when the reply has arrived, successful or not. It can be
/// enumerated once. Leaving the enumeration early (or cancelling its token) withdraws the request: the call is cancelled,
/// its in-flight slot freed, and <see cref="Reply"/> becomes a <see cref="FailureReason.Cancelled"/> failure; so does
/// disposing the stream before its reply arrived. A cancelled enumeration ends quietly: <see cref="Reply"/> says how the
/// request ended (an answer that was already on its way may still be a success).
/// </summary>
public sealed class ChatStream : IAsyncEnumerable<ChatChunk>, IAsyncDisposable
{
    private readonly ChannelReader<ChatChunk> _chunks;
    private readonly Action _withdraw;
    private int _enumerated;

    internal ChatStream(string requestId, ChannelReader<ChatChunk> chunks, Task<ChatReply> reply, Action withdraw)
    {
        RequestId = requestId;
        _chunks = chunks;
        Reply = reply;
        _withdraw = withdraw;
    }

    /// <summary>The request's id.</summary>
    public string RequestId { get; }

    /// <summary>The request's one terminal reply; completes after the last chunk was made available.</summary>
    public Task<ChatReply> Reply { get; }

    /// <summary>Withdraws the request if its reply has not arrived yet (the reply is then <see cref="FailureReason.Cancelled"/>).</summary>
    public ValueTask DisposeAsync()
    {
        if (!Reply.IsCompleted)
        {
            _withdraw();
        }
        return ValueTask.CompletedTask;
    }

    public IAsyncEnumerator<ChatChunk> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _enumerated, 1) == 1)
        {
            throw new InvalidOperationException($"The stream of request {RequestId} can be enumerated only once.");
        }
        return Enumerate(cancellationToken);
    }

    private async IAsyncEnumerator<ChatChunk> Enumerate(CancellationToken cancellationToken)
    {
        var finished = false;
        try
        {
            while (true)
            {
                bool more;
                try
                {
                    more = await _chunks.WaitToReadAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    // The caller stops listening: withdraw the request; Reply still completes (Cancelled).
                    yield break;
                }
                if (!more)
                {
                    finished = true;
                    yield break;
                }
                while (_chunks.TryRead(out var chunk))
                {
                    yield return chunk;
                }
            }
        }
        finally
        {
            if (!finished && !Reply.IsCompleted)
            {
                _withdraw();
            }
        }
    }

    /// <summary>Receives one stream's chunks and its reply, then stops; a stop before the reply answers it ShuttingDown.</summary>
    internal sealed class Receiver : UntypedActor
    {
        private readonly string _requestId;
        private readonly ChannelWriter<ChatChunk> _chunks;
        private readonly TaskCompletionSource<ChatReply> _reply;

        public Receiver(string requestId, ChannelWriter<ChatChunk> chunks, TaskCompletionSource<ChatReply> reply)
        {
            _requestId = requestId;
            _chunks = chunks;
            _reply = reply;
        }

        public static Props Props(string requestId, ChannelWriter<ChatChunk> chunks, TaskCompletionSource<ChatReply> reply) =>
            Akka.Actor.Props.Create(() => new Receiver(requestId, chunks, reply));

        protected override void OnReceive(object message)
        {
            switch (message)
            {
                case ChatChunk chunk when chunk.RequestId == _requestId:
                    _chunks.TryWrite(chunk);
                    break;
                case ChatReply reply when reply.RequestId == _requestId || reply.RequestId.Length == 0:
                    Finish(reply);
                    Context.Stop(Self);
                    break;
                default:
                    Unhandled(message);
                    break;
            }
        }

        protected override void PostStop() =>
            Finish(new ChatFailure(_requestId, FailureReason.ShuttingDown, "The actor system stopped before the stream's reply arrived.", 0));

        // The channel completes before the reply is published, so a reader that sees the reply has seen every chunk.
        private void Finish(ChatReply reply)
        {
            _chunks.TryComplete();
            _reply.TrySetResult(reply);
        }
    }
}
