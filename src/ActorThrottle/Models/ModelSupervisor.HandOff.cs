using ActorThrottle.Diagnostics;
using ActorThrottle.Messages;
using ActorThrottle.Routing;
using Akka.Actor;

namespace ActorThrottle.Models;

/// <summary>Shutdown and cluster hand-off: stop taking work, answer or re-deliver what is held, then stop.</summary>
internal sealed partial class ModelSupervisor
{
    /// <summary>
    /// Cluster hand-off (rebalance, a node leaving, passivation): stop taking work, re-deliver what has not been sent
    /// (queued or waiting to retry) to the next incarnation, let calls in flight finish within shutdown-grace
    /// (a retryable outcome is re-delivered too), then stop. Without a re-delivery target it is a shutdown.
    /// </summary>
    private void BeginHandOff()
    {
        if (_handingOff)
        {
            return;
        }
        _handingOff = true;
        _log.Information("Handing off {Model}: {Count} unanswered requests", _settings.ModelId, _ledger.Count);
        if (_redeliver is not null)
        {
            // Everything whose call has not started (queued, or already past the throttle in the stream's buffers)
            // goes to the next incarnation now; only calls already running stay, within shutdown-grace.
            foreach (var entry in _ledger.Snapshot())
            {
                if (entry.Current is { } item && item.TryWithdraw())
                {
                    Release(entry, "The model moved to another node before the request was sent.");
                }
            }
        }
        BeginShutdown();
    }

    /// <summary>Hands an unanswered request on (hand-off with a re-delivery target) or answers it ShuttingDown.</summary>
    private void Release(LedgerEntry entry, string why)
    {
        if (_handingOff && _redeliver is { } redeliver)
        {
            if (!_ledger.Remove(entry.Request.RequestId))
            {
                return;
            }
            entry.Current?.Abandon();
            Timers.Cancel(RetryKey(entry.Request.RequestId));
            ThrottleTracing.EndHandedOn(entry.Span, "handed_off", entry.PriorAttempts + entry.Attempts);
            if (entry.Tracked)
            {
                entry.ReplyTo.Tell(new RequestReleased(entry.Request.RequestId));
            }
            redeliver(HandOffModel.Redelivery(entry.Request, entry.ReplyTo, entry.Stream, entry.Tracked, entry.Tried, entry.Fallbacks,
                entry.PriorAttempts + entry.Attempts), entry.ReplyTo);
            PublishGauges();
            CompleteShutdownIfDone();
            return;
        }
        Answer(entry, Failure(entry, FailureReason.ShuttingDown, why));
    }

    private void BeginShutdown()
    {
        _shutdownRequester = Sender;
        foreach (var entry in _ledger.Snapshot().Where(e => e.WaitingForRetry).ToList())
        {
            Release(entry, "The actor system is shutting down; the request was waiting to retry.");
        }
        _modelActor.Tell(DrainQueue.Instance);
        Timers.StartSingleTimer(GraceTimer, ShutdownGraceOver.Instance, _shutdownGrace);
        CompleteShutdownIfDone();
    }

    private void Drained(QueueDrained drained)
    {
        foreach (var item in drained.Items)
        {
            if (_ledger.TryGet(item.Request.RequestId, out var entry) && ReferenceEquals(entry.Current, item))
            {
                Release(entry, "The actor system is shutting down; the request had not been sent.");
            }
        }
        CompleteShutdownIfDone();
    }

    private void FinishShutdown(string why)
    {
        foreach (var entry in _ledger.Snapshot())
        {
            Answer(entry, Failure(entry, FailureReason.ShuttingDown, why));
        }
        CompleteShutdownIfDone();
    }

    private void CompleteShutdownIfDone()
    {
        if (_shutdownRequester is { } requester && _ledger.Count == 0)
        {
            Timers.Cancel(GraceTimer);
            if (_handingOff)
            {
                // The shard waits for the entity to stop before the model starts elsewhere.
                Context.Stop(Self);
                return;
            }
            requester.Tell(new ModelShutdownComplete(_settings.ModelId));
        }
    }
}
