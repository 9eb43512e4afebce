using ActorThrottle.Backend;
using ActorThrottle.Configuration;
using ActorThrottle.Diagnostics;
using ActorThrottle.Throttling;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;

namespace ActorThrottle.Models;

/// <summary>
/// Owns one model's pipeline: bounded laned queue → adaptive throttle → at most <c>max-in-flight</c> calls to
/// the backend → outcomes back to the parent <see cref="ModelSupervisor"/>. It never answers callers: the
/// supervisor does, which is why a restart of this actor loses nothing.
/// </summary>
internal sealed class ModelActor : ReceiveActor
{
    private readonly ModelSettings _settings;
    private readonly IChatBackend _backend;
    private readonly TimeProvider _time;
    private IWorkQueue<WorkItem>? _queue;
    // The stream's parallelism is max-in-flight, fixed at materialization; the gate is the limit the supervisor lowers.
    private readonly InFlightGate _gate;

    public ModelActor(ModelSettings settings, IChatBackend backend, TimeProvider time)
    {
        _settings = settings;
        _backend = backend;
        _time = time;
        _gate = new InFlightGate(settings.MaxInFlight);

        Receive<SubmitAttempt>(m =>
        {
            // Submissions that waited in the mailbox across a restart were superseded by the supervisor's
            // re-submission; queueing them too could overfill the queue.
            if (m.Item.IsAbandoned)
            {
                return;
            }
            // The supervisor bounds what it holds by queue-size, so a full queue here means a bug, not load.
            if (!_queue!.TryEnqueue(m.Item, m.Item.Lane))
            {
                throw new InvalidOperationException($"The queue of model '{_settings.ModelId}' refused an attempt it had room for.");
            }
        });
        Receive<WithdrawAttempt>(m => _queue!.TryRemove(m.Item));
        Receive<DrainQueue>(_ => Sender.Tell(new QueueDrained(_queue!.DrainAll())));
        Receive<StreamFailed>(m => throw new ModelStreamFailedException(_settings.ModelId, m.Cause));
    }

    public static Props Props(ModelSettings settings, IChatBackend backend, TimeProvider time) =>
        Akka.Actor.Props.Create(() => new ModelActor(settings, backend, time));

    protected override void PreStart()
    {
        var supervisor = Context.Parent;
        var self = Self;
        var materializer = Context.Materializer();
        var ((queue, throttle), done) = Source.FromGraph(new LanedQueueSource<WorkItem>(_settings.QueueSize, lanes: 4, lanesPerGroup: 2, StarvationGuard(_settings.BatchShare)))
            .ViaMaterialized(
                new AdaptiveThrottle<WorkItem>(
                    _settings.RequestsPerSecond,
                    _settings.MaxBurst,
                    _settings.TokensPerMinute,
                    item => item.Cost,
                    _time,
                    item => item.IsAbandoned,
                    tokensBurst: _settings.ConfiguredTokensBurst),
                Keep.Both)
            .SelectAsyncUnordered(_settings.MaxInFlight, Call)
            .ToMaterialized(Sink.ForEach<AttemptCompleted>(outcome => supervisor.Tell(outcome)), Keep.Both)
            .Run(materializer);
        _queue = queue;
        done.ContinueWith(t =>
        {
            if (t.IsFaulted)
            {
                self.Tell(new StreamFailed(t.Exception!.GetBaseException()));
            }
        }, TaskContinuationOptions.ExecuteSynchronously);
        supervisor.Tell(new ModelActorStarted(throttle, queue) { Gate = _gate });
    }

    /// <summary>A batch share of s means one batch release after round(1/s) − 1 interactive ones while both wait; 0 is strict.</summary>
    internal static int StarvationGuard(double batchShare) =>
        batchShare <= 0 ? 0 : Math.Max(1, (int)Math.Round(1 / batchShare) - 1);

    private async Task<AttemptCompleted> Call(WorkItem item)
    {
        var inFlight = await _gate.EnterAsync().ConfigureAwait(false);
        try
        {
            return await CallEntered(item).ConfigureAwait(false) with { InFlightAtSend = inFlight };
        }
        finally
        {
            _gate.Exit();
        }
    }

    private async Task<AttemptCompleted> CallEntered(WorkItem item)
    {
        var startedAt = _time.GetUtcNow();
        using var call = new CancellationTokenSource();
        if (!item.AttachCall(call))
        {
            return new AttemptCompleted(item, null, startedAt, TimeSpan.Zero);
        }
        // The attempt span is Activity.Current for this async flow only: the OpenAI SDK's HTTP span becomes its child.
        var span = ThrottleTracing.StartAttempt(item, _settings, item.QueueWaitUntil(startedAt));
        item.AttemptSpan = span?.Context ?? default;
        var started = _time.GetTimestamp();
        try
        {
            var pending = item.ChunkTarget is null
                ? _backend.SendAsync(item.Request, call.Token)
                : _backend.StreamAsync(item.Request, content => item.TryForwardChunk(content), call.Token);
            // A streamed call keeps its in-flight slot until the stream has ended.
            var response = await pending.ConfigureAwait(false)
                // A null answer breaks the backend's contract; the supervisor reads a null response as "abandoned" and would
                // never answer the caller, so it counts as a transient failure of this attempt instead.
                ?? new BackendResponse(OutcomeKind.Transient) { ErrorCode = "backend_null", ErrorMessage = "The backend answered null." };
            return Traced(span, new AttemptCompleted(item, response, startedAt, _time.GetElapsedTime(started)));
        }
        catch (OperationCanceledException) when (call.IsCancellationRequested)
        {
            // Abandoned while in flight: the supervisor already answered the caller.
            return Traced(span, new AttemptCompleted(item, null, startedAt, _time.GetElapsedTime(started)));
        }
        catch (Exception e)
        {
            // A backend must not throw; if one does, the attempt counts as transient rather than killing the stream.
            var response = new BackendResponse(OutcomeKind.Transient)
            {
                ErrorCode = "backend_exception",
                // Redacted: a custom backend's exception could quote the key it was built with.
                ErrorMessage = ChatResponseParser.Redact($"The backend threw {e.GetType().Name}: {e.Message}", _settings.Route.ApiKey?.Reveal()),
            };
            return Traced(span, new AttemptCompleted(item, response, startedAt, _time.GetElapsedTime(started)));
        }
        finally
        {
            item.DetachCall();
        }
    }

    private static AttemptCompleted Traced(System.Diagnostics.Activity? span, AttemptCompleted completed)
    {
        ThrottleTracing.EndAttempt(span, completed.Response);
        return completed;
    }
}
