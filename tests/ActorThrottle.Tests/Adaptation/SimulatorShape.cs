using System.Text.Json;
using ActorThrottle.Backend;
using ActorThrottle.Messages;
using ActorThrottle.Simulator;
using Microsoft.Extensions.Time.Testing;
using SimModelSettings = ActorThrottle.Simulator.ModelSettings;

namespace ActorThrottle.Tests.Adaptation;

/// <summary>
/// The HTTP simulator's model on virtual time, without HTTP: its <see cref="ModelRuntime"/> (the real limiters, the schedule,
/// GCRA queue delays, token charges and refunds, concurrency slots, the seeded latency draws and the per-second statistics)
/// and its header writer, composed as <c>SimulatorEndpoints</c> answers: a rejection or an outage at once with the facts of
/// the decision; a success after its latency, refunding unused tokens first and sending the facts as they are then; the
/// concurrency slot freed once answered. Answers come back as the backend would parse them (<see cref="BackendResponse"/>
/// with headers read by <see cref="RateLimitHeaders.Parse"/>). The clock is the caller's <see cref="FakeTimeProvider"/>.
/// </summary>
internal sealed class SimulatorShape : IVirtualShape
{
    private readonly FakeTimeProvider _clock;
    private readonly string _model;
    private readonly PriorityQueue<Decision, DateTimeOffset> _holding = new();

    public SimulatorShape(SimModelSettings settings, FakeTimeProvider clock, string model = "m")
    {
        settings.Validate();
        _clock = clock;
        _model = model;
        // Statistics by whole second of the clock, as the HTTP simulator counts them (its epoch is a clock instant, the
        // benchmark's start falls anywhere in a second): a run starting at 12:00:00.5 has its first bucket at t = -0.5.
        var now = clock.GetUtcNow();
        SecondOffset = (now - new DateTimeOffset(now.UtcTicks / TimeSpan.TicksPerSecond * TimeSpan.TicksPerSecond, TimeSpan.Zero)).TotalSeconds;
        Runtime = new ModelRuntime(model, settings, clock, clock.GetTimestamp() - (long)Math.Round(SecondOffset * clock.TimestampFrequency), historyCapacity: 1024);
    }

    public ModelRuntime Runtime { get; }

    /// <summary>Seconds from the whole second the statistics count from to the start: bucket n covers [n − offset, n + 1 − offset).</summary>
    public double SecondOffset { get; }

    /// <summary>A call arrives now: the simulator decides it; its answer is due at <see cref="VirtualCall.AnswerAt"/>.</summary>
    public VirtualCall Send(int promptTokens, int maxTokens)
    {
        var now = _clock.GetUtcNow();
        var decision = Runtime.Decide(promptTokens, maxTokens);
        return decision.Outcome switch
        {
            Outcome.Success => new VirtualCall(decision, promptTokens, now + decision.Latency),
            // Rejections and outages are answered at once, with the facts of the decision.
            _ => new VirtualCall(decision, promptTokens, now),
        };
    }

    /// <summary>The answer of <paramref name="call"/>, built now (its answer time), as the backend parses it.</summary>
    public BackendResponse Answer(VirtualCall call)
    {
        var now = _clock.GetUtcNow();
        var decision = call.Decision;
        try
        {
            switch (decision.Outcome)
            {
                case Outcome.Success:
                    if (decision.Refund > 0)
                    {
                        Runtime.Refund(decision.Refund);
                    }

                    // Headers show the state after the reply, refund included.
                    return new BackendResponse(OutcomeKind.Success)
                    {
                        StatusCode = 200,
                        Content = "hello",
                        FinishReason = decision.FinishReason,
                        Usage = new TokenUsage(call.PromptTokens, decision.CompletionTokens),
                        RateLimits = Headers(decision.HeaderMode, Runtime.Facts(), null, now),
                    };
                case Outcome.RateLimited:
                    var (message, type, retryAfter) = SimulatorEndpoints.RateLimitedAnswer(_model, decision.Admission);
                    return ChatResponseParser.Parse(429, ErrorBody(message, type, "rate_limit_exceeded"), Headers(decision.HeaderMode, decision.Facts, retryAfter, now));
                case Outcome.Outage when decision.OutageStatus == 529:
                    return ChatResponseParser.Parse(529, """{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}""", Headers(decision.HeaderMode, decision.Facts, null, now));
                case Outcome.Outage:
                    return ChatResponseParser.Parse(decision.OutageStatus, ErrorBody("The engine is currently overloaded, please try again later.", "server_error", null), Headers(decision.HeaderMode, decision.Facts, null, now));
                default:
                    throw new NotSupportedException($"The virtual matrix does not model {decision.Outcome} (its shapes inject no faults).");
            }
        }
        finally
        {
            // A concurrency slot is held until the answer is done.
            Runtime.Release(decision);
        }
    }

    /// <summary>
    /// <see cref="IVirtualShape"/> for <see cref="VirtualShapeLoop"/>: the loop's latency draw is added to the simulator's own
    /// (set its latency to zero to use the loop's), a success's headers are those at arrival (the loop wants them now), and
    /// the clock follows the loop's instants.
    /// </summary>
    public (bool Accepted, TimeSpan AnswerAfter, RateLimitInfo Headers) Arrive(DateTimeOffset now, TimeSpan latency)
    {
        Follow(now);
        var call = Send(promptTokens: 0, maxTokens: 1);
        if (call.Decision.Outcome == Outcome.Success)
        {
            var after = call.Decision.Latency + latency;
            if (call.Decision.HoldsConcurrency)
            {
                _holding.Enqueue(call.Decision, now + after);
            }

            return (true, after, Headers(call.Decision.HeaderMode, Runtime.Facts(), null, now));
        }

        var response = Answer(call);
        return (false, TimeSpan.FromMilliseconds(2), response.RateLimits);
    }

    public void Tick(DateTimeOffset now)
    {
        Follow(now);
        while (_holding.TryPeek(out var decision, out var at) && at <= now)
        {
            _holding.Dequeue();
            Runtime.Release(decision);
        }
    }

    // The loop owns the time: the simulator's clock follows it.
    private void Follow(DateTimeOffset now)
    {
        if (now > _clock.GetUtcNow())
        {
            _clock.SetUtcNow(now);
        }
    }

    private static RateLimitInfo Headers(RateLimitHeaderMode mode, IReadOnlyList<LimitFacts> facts, TimeSpan? retryAfter, DateTimeOffset now)
    {
        var headers = RateLimitHeaderWriter.For(mode, facts, retryAfter, now);
        return RateLimitHeaders.Parse(name => headers.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value, now);
    }

    private static string ErrorBody(string message, string? type, string? code) =>
        JsonSerializer.Serialize(new { error = new { message, type, code } });
}

/// <summary>One call in flight at the <see cref="SimulatorShape"/>: the simulator's decision and when its answer is due.</summary>
internal sealed record VirtualCall(Decision Decision, int PromptTokens, DateTimeOffset AnswerAt);
