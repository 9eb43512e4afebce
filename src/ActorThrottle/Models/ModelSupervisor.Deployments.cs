using ActorThrottle.Backend;
using ActorThrottle.Deployments;
using ActorThrottle.Diagnostics;
using Akka.Actor;

namespace ActorThrottle.Models;

// The part of a supervisor that serves as one deployment of a model (its parent is a DeploymentBalancer): kept apart
// so the single-deployment path stays as it was.
internal sealed partial class ModelSupervisor
{
    /// <summary>A deployment tells its balancer each attempt's outcome: the balancer's cool-down rule reads them.</summary>
    private void ReportAttempt(BackendResponse response, DateTimeOffset at, TimeSpan elapsed)
    {
        if (_settings.IsDeployment)
        {
            Context.Parent.Tell(new DeploymentAttemptObserved(response.Kind, response.StatusCode, at, elapsed));
        }
    }

    /// <summary>
    /// Gives back (to the balancer, unanswered) every request whose call has not started: those waiting in the queue
    /// or the stream's buffers (withdrawn, so never sent) and those waiting to retry. Calls already running stay.
    /// </summary>
    private void Reclaim()
    {
        var reclaimed = new List<ReclaimedRequest>();
        if (_shutdownRequester is null && !_handingOff)
        {
            foreach (var entry in _ledger.Snapshot())
            {
                var movable = entry.WaitingForRetry || (entry.Current is { } item && item.TryWithdraw());
                if (!movable || !_ledger.Remove(entry.Request.RequestId))
                {
                    continue;
                }
                entry.Current?.Abandon();
                Timers.Cancel(RetryKey(entry.Request.RequestId));
                ThrottleTracing.EndHandedOn(entry.Span, "moved", entry.PriorAttempts + entry.Attempts);
                reclaimed.Add(new ReclaimedRequest(entry.Request.RequestId, entry.PriorAttempts + entry.Attempts));
            }
            PublishGauges();
        }
        Sender.Tell(new QueuedReclaimed(reclaimed));
    }
}
