using ActorThrottle.Backend;
using ActorThrottle.Diagnostics;
using ActorThrottle.Messages;
using ActorThrottle.Retry;
using ActorThrottle.Routing;
using Akka.Actor;

namespace ActorThrottle.Models;

/// <summary>Retries, deadlines and fallbacks: what happens to an attempt that did not succeed, and to a request whose time runs out.</summary>
internal sealed partial class ModelSupervisor
{
    private void RetryOrFail(LedgerEntry entry, BackendResponse response, FailureReason exhausted, DateTimeOffset now)
    {
        var retryFloor = RateLimitPause.RetryFloor(response.RateLimits);
        var step = RetryPlan.Next(response.Kind, entry.Attempts, _settings.Retry, retryFloor, _rate.InOutage, _random.NextDouble());
        if (!step.Retry)
        {
            FailOrFallBack(entry, Failure(entry, exhausted, $"Gave up after {entry.Attempts} attempts (retry.max-attempts): {DescribeProviderError(response)}", response));
            return;
        }
        if (response.Kind == OutcomeKind.Transient && _rate.InOutage && HasFallback(entry))
        {
            FailOrFallBack(entry, Failure(entry, FailureReason.Transient, $"{OutageMessage}; last error: {DescribeProviderError(response)}", response));
            return;
        }
        var delay = step.Delay;
        if (response.Kind == OutcomeKind.RateLimited && _rate.Settings.Rate is var rate and > 0
            && _rate.QuotaWindowEnd(response.RateLimits) is var windowEnd
            && RetryPlan.TailRetryDelay(delay, windowEnd, retryFloor, rate, entry.Attempts, waiting: 0, now) < delay)
        {
            // Only when the tail rule could shorten the wait are the waiting requests counted (not on every 429 of a storm),
            // and the count stops once they would outlast the delay: the delay stands then, whatever the backlog.
            var waiting = WaitingBesides(entry, atMost: (int)Math.Min(int.MaxValue - 1, Math.Ceiling(delay.TotalSeconds * rate)));
            delay = RetryPlan.TailRetryDelay(delay, windowEnd, retryFloor, rate, entry.Attempts, waiting, now);
        }
        if (entry.Request.Deadline is { } deadline && now + delay >= deadline)
        {
            Answer(entry, Failure(entry, FailureReason.DeadlineExceeded, $"The next retry (in {delay.TotalMilliseconds:0} ms) would come after the deadline; last error: {DescribeProviderError(response)}", response));
            return;
        }
        if (step.ChargesBudget && !_budget.TryAcquireRetry(now))
        {
            FailOrFallBack(entry, Failure(entry, exhausted, $"Retry budget spent (retry.budget); last error: {DescribeProviderError(response)}", response));
            return;
        }
        if (_handingOff)
        {
            Release(entry, "The model moved to another node while the request was waiting to retry.");
            return;
        }
        _metrics.RecordRetry(_settings.ModelId);
        entry.WaitingForRetry = true;
        entry.Current = null;
        Timers.StartSingleTimer(RetryKey(entry.Request.RequestId), new RetryDue(entry.Request.RequestId), delay);
    }

    /// <summary>Requests other than <paramref name="entry"/> waiting in the model's queue or stream to be sent, counted up to one more than <paramref name="atMost"/>.</summary>
    private int WaitingBesides(LedgerEntry entry, int atMost)
    {
        var waiting = 0;
        foreach (var other in _ledger.Entries)
        {
            if (!ReferenceEquals(other, entry) && other.Current is { IsWaiting: true } && ++waiting > atMost)
            {
                break;
            }
        }
        return waiting;
    }

    private void RetryNow(RetryDue due)
    {
        if (_ledger.TryGet(due.RequestId, out var entry) && entry.WaitingForRetry)
        {
            Submit(entry, isRetry: true);
        }
    }

    private void ExpireDeadlines()
    {
        _nextDeadlineTimer = null;
        foreach (var entry in _ledger.TakeExpired(_time.GetUtcNow()))
        {
            if (entry.Current is { } item)
            {
                _modelActor.Tell(new WithdrawAttempt(item));
            }
            var last = entry.LastResponse is { } r ? $"; last error: {DescribeProviderError(r)}" : "";
            Answer(entry, Failure(entry, FailureReason.DeadlineExceeded, $"The deadline {entry.Request.Deadline!.Value:O} passed before an answer{last}", entry.LastResponse));
        }
        ArmDeadlineTimer();
    }

    private void ArmDeadlineTimer()
    {
        if (_ledger.NextDeadline is not { } next || (_nextDeadlineTimer is { } armed && armed <= next))
        {
            return;
        }
        _nextDeadlineTimer = next;
        var delay = next - _time.GetUtcNow();
        Timers.StartSingleTimer(DeadlineTimer, DeadlineDue.Instance, delay > TimeSpan.Zero ? delay : TimeSpan.Zero);
    }

    /// <summary>
    /// Retries on this model are exhausted (or the provider's quota is): hand the request to the next fallback that has
    /// not been tried, if any — its supervisor then owns the one reply — otherwise answer the failure.
    /// </summary>
    private void FailOrFallBack(LedgerEntry entry, ChatFailure failure)
    {
        var eligible = failure.Reason is FailureReason.RateLimitedExhausted or FailureReason.Transient
            || (failure.Reason == FailureReason.Permanent && failure.ProviderCode == OutcomeClassifier.InsufficientQuota);
        var chain = RemainingFallbacks(entry).ToList();
        var next = eligible && chain.Count > 0 ? chain[0] : null;
        if (next is null || _shutdownRequester is not null)
        {
            Answer(entry, failure);
            return;
        }
        if (!_ledger.Remove(entry.Request.RequestId))
        {
            return;
        }
        entry.Current?.Abandon();
        Timers.Cancel(RetryKey(entry.Request.RequestId));
        _ledger.RememberForwarded(entry.Request.RequestId, next);
        ThrottleTracing.EndHandedOn(entry.Span, "fallback", entry.PriorAttempts + entry.Attempts);
        _log.Information("Request {RequestId} falls back from {Model} to {Fallback} after {Attempts} attempts: {Reason}",
            entry.Request.RequestId, _settings.ModelId, next, entry.Attempts, failure.Reason);
        _otherModels(new FallbackRequest(
            entry.Request with { Model = next },
            entry.ReplyTo,
            [.. entry.Tried, _settings.ModelId],
            chain.Skip(1).ToList(),
            entry.PriorAttempts + entry.Attempts,
            entry.Stream), Self);
        PublishGauges();
        if (_shutdownRequester is not null)
        {
            CompleteShutdownIfDone();
        }
    }

    /// <summary>
    /// The provider answers again after an outage: requests waiting out a backoff after a server error (its own, or one of
    /// the errors that showed the outage) go now, not up to retry.max-delay later.
    /// </summary>
    private void ReleaseOutageRetries()
    {
        if (_handingOff)
        {
            // The next incarnation sends them: this one only finishes what is in flight.
            return;
        }
        var released = 0;
        foreach (var entry in _ledger.Snapshot())
        {
            if (entry.WaitingForRetry && entry.LastResponse is { Kind: OutcomeKind.Transient })
            {
                Timers.Cancel(RetryKey(entry.Request.RequestId));
                Submit(entry, isRetry: true);
                released++;
            }
        }
        _log.Information("Model {Model} answers again after an outage: {Count} requests that were waiting to retry go now", _settings.ModelId, released);
    }

    private const string OutageMessage = "The model is down: most of its attempts fail with server errors";

    private bool HasFallback(LedgerEntry entry) => RemainingFallbacks(entry).Any();

    /// <summary>The fallbacks the request may still go to, in order (<see cref="FailOrFallBack"/> takes the first): this model and those tried are skipped.</summary>
    private IEnumerable<string> RemainingFallbacks(LedgerEntry entry) => entry.Fallbacks.SkipWhile(f => f == _settings.ModelId || entry.Tried.Contains(f));

    /// <summary>
    /// An outage begins: requests that name fallbacks and are not in a call (queued, or waiting to retry) go to them now.
    /// Waiting, they would leave one a probe (benchmarks, deployments "failing" with fallbacks by hand: 93 of 400 still
    /// unanswered after 70 s when they waited).
    /// </summary>
    private void FallBackFromOutage()
    {
        if (_handingOff || _shutdownRequester is not null)
        {
            return;
        }
        foreach (var entry in _ledger.Snapshot())
        {
            if (!HasFallback(entry))
            {
                continue;
            }
            if (entry.WaitingForRetry || (entry.Current is { } item && item.TryWithdraw()))
            {
                FailOrFallBack(entry, Failure(entry, FailureReason.Transient, OutageMessage));
            }
        }
    }

    private static string RetryKey(string requestId) => "retry:" + requestId;
}
